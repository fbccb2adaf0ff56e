"""Route 53 behaviour the emulator stores but never evaluates: health checks and failover.

``HealthChecker`` probes each health check's endpoint over HTTP at the configured interval
and applies the failure threshold (Route 53 uses the same count to recover). ``Edge`` is the
user-facing entry point: it resolves a hostname from the zone's record sets (failover records
and health status, as Route 53 answers) with TTL caching like a resolver, then sends the
request to the ALB the answer names, and says which region served it.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.httpserver import Request, Response


@dataclass
class CheckState:
    id: str
    fqdn: str
    path: str
    threshold: int
    inverted: bool = False
    disabled: bool = False
    healthy: bool = True
    fails: int = 0
    oks: int = 0
    last_status: str = "Success: not yet checked"
    checked_at: str = ""
    transitions: list[dict[str, Any]] = field(default_factory=list)


class HealthChecker:
    def __init__(self, r53: Any, alb_ports: dict[str, int], interval_s: float,
                 on_change: Callable[[CheckState], None], host: str = "127.0.0.1"):
        self.r53 = r53
        self.alb_ports = alb_ports
        self.interval_s = interval_s
        self.on_change = on_change
        self.host = host
        self.checks: dict[str, CheckState] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._last_refresh = 0.0
        self.thread = threading.Thread(target=self._run, name="healthchecker", daemon=True)

    def start(self) -> None:
        self.refresh()
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def refresh(self) -> None:
        """Read the health checks' settings from the API (so API edits take effect)."""
        seen = set()
        for hc in self.r53.list_health_checks().get("HealthChecks", []):
            conf = hc["HealthCheckConfig"]
            if conf.get("FullyQualifiedDomainName") not in self.alb_ports:
                continue  # not on the twin's endpoints (a shared LocalStack holds others' checks)
            seen.add(hc["Id"])
            with self._lock:
                st = self.checks.get(hc["Id"])
                if st is None:
                    st = self.checks[hc["Id"]] = CheckState(
                        hc["Id"], conf.get("FullyQualifiedDomainName", ""), conf.get("ResourcePath", "/"),
                        int(conf.get("FailureThreshold", 3)))
                st.fqdn = conf.get("FullyQualifiedDomainName", st.fqdn)
                st.path = conf.get("ResourcePath", st.path)
                st.threshold = int(conf.get("FailureThreshold", st.threshold))
                st.inverted = bool(conf.get("Inverted", False))
                st.disabled = bool(conf.get("Disabled", False))
        with self._lock:
            for gone in set(self.checks) - seen:
                del self.checks[gone]
        self._last_refresh = time.monotonic()

    def _probe(self, st: CheckState) -> tuple[bool, str]:
        port = self.alb_ports.get(st.fqdn)
        if port is None:
            return False, f"cannot resolve {st.fqdn}"
        conn = http.client.HTTPConnection(self.host, port, timeout=max(0.2, min(2.0, self.interval_s)))
        try:
            conn.request("GET", st.path, headers={"Host": st.fqdn, "User-Agent": "Amazon-Route53-Health-Check-Service"})
            resp = conn.getresponse()
            resp.read()
            ok = 200 <= resp.status < 400
            return ok, f"HTTP Status Code {resp.status}"
        except OSError as exc:
            return False, f"connection failed: {type(exc).__name__}"
        finally:
            conn.close()

    def check_once(self) -> None:
        with self._lock:
            states = list(self.checks.values())
        for st in states:
            ok, text = self._probe(st)
            if st.inverted:
                ok = not ok
            st.last_status = ("Success: " if ok else "") + text
            st.checked_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            if st.disabled:
                ok, st.fails, st.oks = True, 0, 0
            if ok:
                st.oks, st.fails = st.oks + 1, 0
            else:
                st.fails, st.oks = st.fails + 1, 0
            new = st.healthy
            if st.healthy and st.fails >= st.threshold:
                new = False
            elif not st.healthy and st.oks >= st.threshold:
                new = True
            if new != st.healthy:
                st.healthy = new
                st.transitions.append({"at": time.time(), "healthy": new, "status": st.last_status})
                self.on_change(st)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if time.monotonic() - self._last_refresh > 2.0:
                    self.refresh()
                self.check_once()
            except Exception:  # the API may be mid-shutdown; the next tick retries
                continue

    def status(self, hc_id: str) -> tuple[bool, str, str]:
        st = self.checks.get(hc_id)
        if st is None:
            return True, "Success: unknown health check", ""
        return st.healthy, st.last_status, st.checked_at

    def healthy(self, hc_id: str) -> bool:
        st = self.checks.get(hc_id)
        return True if st is None or st.disabled else st.healthy


class Resolver:
    """Answers like Route 53 for the zone, cached per name for the record TTL."""

    def __init__(self, r53: Any, zone_id: str, health: Callable[[str], bool], ttl_s: float):
        self.r53 = r53
        self.zone_id = zone_id
        self.health = health
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, str]] = {}
        self._records: tuple[float, list[dict[str, Any]]] = (0.0, [])
        self._lock = threading.Lock()
        self.changes: list[dict[str, Any]] = []  # (time, name, answer) whenever an answer changes

    def _record_sets(self) -> list[dict[str, Any]]:
        at, records = self._records
        if time.monotonic() - at < min(0.5, self.ttl_s):
            return records
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"HostedZoneId": self.zone_id}
        while True:
            page = self.r53.list_resource_record_sets(**kwargs)
            out.extend(page["ResourceRecordSets"])
            if not page.get("IsTruncated"):
                break
            kwargs.update(StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"])
        self._records = (time.monotonic(), out)
        return out

    def answer(self, name: str) -> str | None:
        fqdn = name.rstrip(".") + "."
        sets = [r for r in self._record_sets() if r["Name"] == fqdn and r["Type"] in ("A", "AAAA", "CNAME")]
        if not sets:
            return None

        def target(r: dict[str, Any]) -> str:
            if "AliasTarget" in r:
                return str(r["AliasTarget"]["DNSName"]).rstrip(".")
            return str(r["ResourceRecords"][0]["Value"]).rstrip(".")

        primary = next((r for r in sets if r.get("Failover") == "PRIMARY"), None)
        secondary = next((r for r in sets if r.get("Failover") == "SECONDARY"), None)
        if primary is None:
            return target(sets[0])
        if secondary is None or not primary.get("HealthCheckId") or self.health(primary["HealthCheckId"]):
            return target(primary)
        if secondary.get("HealthCheckId") and not self.health(secondary["HealthCheckId"]):
            return target(primary)  # both unhealthy: Route 53 answers with the primary
        return target(secondary)

    def resolve(self, name: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(name)
            if hit and hit[0] > now:
                return hit[1]
        ans = self.answer(name)
        with self._lock:
            prev = self._cache.get(name)
            if ans is not None:
                self._cache[name] = (now + self.ttl_s, ans)
            if ans is not None and (prev is None or prev[1] != ans):
                self.changes.append({"at": time.time(), "name": name, "answer": ans})
        return ans


class Edge:
    """HTTP entry point for every routed hostname: resolve, then hand to that ALB."""

    def __init__(self, resolver: Resolver, albs: dict[str, tuple[str, Callable[[Request], Response]]],
                 status: Callable[[], Any] | None = None):
        self.resolver = resolver
        self.albs = albs  # ALB DNS name -> (region name, ALB app)
        self.status = status
        self.requests = 0

    def __call__(self, req: Request) -> Response:
        self.requests += 1
        host = req.host
        if req.path.startswith("/__drill/") and host in ("", "127.0.0.1", "localhost"):
            return Response.json(self.status() if self.status else {"status": "ok"})
        try:
            dns = self.resolver.resolve(host)
        except Exception:
            return Response.json({"error": "DNS lookup failed (SERVFAIL)", "host": host}, 502)
        if dns is None:
            return Response.json({"error": "NXDOMAIN", "host": host}, 502)
        alb = self.albs.get(dns)
        if alb is None:
            return Response.json({"error": "no route to resolved address", "target": dns}, 502)
        resp = alb[1](req)
        resp.headers["X-Drill-Region"] = alb[0]
        resp.headers["X-Drill-Target"] = dns
        return resp
