"""Route 53 health checks, evaluated: each check's endpoint probed over HTTP at its interval,
its failure threshold applied (Route 53 uses the same count to recover), Inverted and Disabled
honoured. The endpoint is the check's FullyQualifiedDomainName (a load balancer's DNS name),
reached at the address the twin's network gives it, on the check's port and path; a cut network
makes the probe fail as it would on an account. Only checks on the twin's own load balancers are
evaluated (a shared LocalStack holds others')."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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
    port: int = 80
    last_status: str = "not yet checked"
    checked_at: str = ""
    transitions: list[dict[str, Any]] = field(default_factory=list)


class HealthChecker:
    def __init__(self, r53: Any, addresses: dict[str, str], interval_s: float,
                 on_change: Callable[[CheckState], None]):
        self.r53 = r53
        self.addresses = addresses  # load balancer DNS name -> its address
        self.interval_s = interval_s
        self.on_change = on_change
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
            if conf.get("FullyQualifiedDomainName") not in self.addresses:
                continue  # not on the twin's endpoints (a shared LocalStack holds others' checks)
            seen.add(hc["Id"])
            with self._lock:
                st = self.checks.get(hc["Id"])
                if st is None:
                    st = self.checks[hc["Id"]] = CheckState(
                        hc["Id"], conf.get("FullyQualifiedDomainName", ""), conf.get("ResourcePath", "/"),
                        int(conf.get("FailureThreshold", 3)), port=int(conf.get("Port") or 80))
                st.fqdn = conf.get("FullyQualifiedDomainName", st.fqdn)
                st.path = conf.get("ResourcePath", st.path)
                st.port = int(conf.get("Port") or st.port)
                st.threshold = int(conf.get("FailureThreshold", st.threshold))
                st.inverted = bool(conf.get("Inverted", False))
                st.disabled = bool(conf.get("Disabled", False))
        with self._lock:
            for gone in set(self.checks) - seen:
                del self.checks[gone]
        self._last_refresh = time.monotonic()

    def _probe(self, st: CheckState) -> tuple[bool, str]:
        address = self.addresses.get(st.fqdn)
        if address is None:
            return False, f"cannot resolve {st.fqdn}"
        conn = http.client.HTTPConnection(address, st.port, timeout=max(0.2, min(2.0, self.interval_s)))
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
            if st.disabled:  # Route 53 stops probing a disabled check and reports it healthy
                ok, text, st.fails, st.oks = True, "health check disabled", 0, 0
            else:
                ok, text = self._probe(st)
                if st.inverted:
                    ok = not ok
            st.last_status = ("Success: " if ok else "") + text
            st.checked_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
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
                if time.monotonic() - self._last_refresh > 1.0:
                    self.refresh()
                self.check_once()
            except Exception:  # the API may be mid-shutdown; the next tick retries
                continue

    def status(self, hc_id: str) -> tuple[bool, str, str]:
        st = self.checks.get(hc_id)
        if st is None or not st.checked_at:
            return False, "Failure: no observation yet", ""
        return st.healthy, st.last_status, st.checked_at

    def healthy(self, hc_id: str) -> bool:
        st = self.checks.get(hc_id)
        return True if st is None or st.disabled else st.healthy
