"""The twin's user-facing data plane, in its own process: each region's load balancers on their own
addresses, the databases' network paths, the Route 53 health checker, the DNS server and the
CloudFront stand-in.

It has a core of its own, so user traffic does not compete with the AWS emulator for the
supervisor's GIL. It mirrors from the supervisor's control API, every ``SYNC_S``, what the
network cuts (load balancers and databases behind a deny-all ACL) and how many pods of each
deployment are Ready, and pushes health-check observations and DNS answer changes back, so
GetHealthCheckStatus and the event log stay in the supervisor.

Started by the supervisor as ``python -m sandbox.dataplane RUNTIME_DIR``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

SYNC_S = 0.1


def _call(url: str, body: Any = None, timeout: float = 5.0) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


class DataPlane:
    def __init__(self, rundir: Path):
        from drill.core.aws import make_client
        from drill.core.schema import Config

        self.rundir = rundir
        raw = json.loads((rundir / "config.json").read_text())
        self.cfg = Config.model_validate(raw["config"])
        self.spec = json.loads((rundir / "dataplane.json").read_text())
        self.control = self.spec["control_url"]
        self._clients: dict[tuple[str, str], Any] = {}
        self._make = make_client
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self.cut_albs: set[str] = set()
        self.cut_dbs: set[str] = set()

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._make(service, region, self.spec["aws_url"], credentials=("testing", "testing"),
                                            attempts=1, connect_timeout=2, read_timeout=5, pool=64)
        return self._clients[key]

    def start(self) -> dict[str, Any]:
        from sandbox.cloudfront import FrontApp
        from sandbox.httpserver import FastServer
        from sandbox.net import Relay
        from sandbox.route53.dns import ZoneAnswers, serve
        from sandbox.route53.healthcheck import HealthChecker
        from sandbox.services import AlbApp, Capacity, RegionServices

        cfg, spec = self.cfg, self.spec
        port = cfg.endpoints.port_or_default()
        cap = cfg.sandbox.capacity
        capacity = Capacity(cap.node_rps, cap.pod_rps, cap.queue_s)
        limited = capacity.limited
        # requests that may wait (a store call, a queue for capacity) run on the pool; the rest inline
        self.http = FastServer("dataplane", blocking=lambda req: limited or "/api/" in req.path,
                               idle_timeout_s=cfg.sandbox.timing.alb_idle_timeout_s)
        self.relays = {}
        for role, db in spec["db"].items():
            def db_open(r: str = role) -> bool:
                return r not in self.cut_dbs

            self.relays[role] = Relay(self.http.loop, tuple(db["listen"]), tuple(db["target"]), db_open)

        def db_endpoint(r: str) -> Callable[[], tuple[str, int]]:
            return lambda: tuple(spec["db"][r]["listen"])

        login = (spec["login"]["username"], spec["login"]["password"])
        self.regions = {role: RegionServices(cfg, role, db_endpoint(role), login, self.client, capacity)
                        for role in ("primary", "dr")}
        self.capacity = capacity
        self.sync_once()
        self.sites = {}
        for alb in cfg.albs:
            for role in ("primary", "dr"):
                dns = spec["albs"][alb.name][role]

                def alb_open(d: str = dns) -> bool:
                    return d not in self.cut_albs

                self.sites[dns] = self.http.listen(AlbApp(cfg, self.regions[role], alb.serves),
                                                   spec["addresses"][dns], port, alb_open)
        front = spec["cloudfront"]
        self.front = FrontApp(self.client, front["id"])
        self.http.listen(self.front, front["address"], port)
        r53 = self.client("route53", "us-east-1")
        self.checker = HealthChecker(r53, dict(spec["addresses"]), cfg.route53.health_check.interval_s, self._on_change)
        self.checker.refresh()
        names = dict(spec["addresses"]) | {front["domain"]: front["address"]}
        self.answers = ZoneAnswers(r53, lambda: names, self.checker.healthy, cfg.route53.ttl_s)
        self.dns, dns_port = serve(self.answers, spec["dns"]["address"], int(spec["dns"]["port"]))
        threading.Thread(target=self._sync_loop, name="dataplane-sync", daemon=True).start()
        return {"dns_port": dns_port, "port": port}

    # ------------------------------------------------------------------ sync with the supervisor

    def sync_once(self) -> None:
        state = _call(self.control + "/dataplane/state", timeout=2)
        for dns in set(state["cut_albs"]) - self.cut_albs:
            site = getattr(self, "sites", {}).get(dns)
            if site is not None:
                self.http.drop(site)
        for role in set(state["cut_dbs"]) - self.cut_dbs:
            self.relays[role].drop_all()
        self.cut_albs, self.cut_dbs = set(state["cut_albs"]), set(state["cut_dbs"])
        for role, svc in self.regions.items():
            available: dict[str, int] = dict(state["available"][role])

            def ready(dep: str, a: dict[str, int] = available) -> int:
                return int(a.get(dep, 0))

            svc.available = ready
            nodes: int = int(state.get("serving_nodes", {}).get(role, 0))

            def serving(n: int = nodes) -> int:
                return n

            svc.serving_nodes = serving
        if state.get("start_checker") and hasattr(self, "checker") and not self.checker.thread.is_alive():
            self.checker.start()

    def _sync_loop(self) -> None:
        pushed = 0
        last_push = 0.0
        while not self._stop.wait(SYNC_S):
            try:
                for svc in self.regions.values():
                    svc.pool.reap()
                self.sync_once()
                with self._lock:
                    transitions, self._pending = self._pending, []
                changes = self.answers.changes[pushed:]
                if transitions or changes or time.monotonic() - last_push > 0.5:
                    _call(self.control + "/dataplane/health", {
                        "checks": [self._view(c) for c in list(self.checker.checks.values())],
                        "transitions": transitions, "dns_changes": changes,
                        "requests": {r: s.requests for r, s in self.regions.items()},
                        "rejected": self.capacity.rejected, "front": self.front.served}, timeout=2)
                    pushed += len(changes)
                    last_push = time.monotonic()
            except Exception:  # the supervisor may be stopping; the next tick retries
                continue

    @staticmethod
    def _view(st: Any) -> dict[str, Any]:
        return {"id": st.id, "fqdn": st.fqdn, "path": st.path, "healthy": st.healthy, "status": st.last_status,
                "checked_at": st.checked_at, "disabled": st.disabled, "inverted": st.inverted}

    def _on_change(self, st: Any) -> None:
        with self._lock:
            self._pending.append({**self._view(st), "at": time.time()})

    def shutdown(self) -> None:
        self._stop.set()
        self.checker.stop()
        self.dns.stop()
        for relay in self.relays.values():
            relay.close()
        self.http.shutdown()


def main() -> None:
    from drill.core import memory

    memory.limit_arenas()  # before the load balancers' threads (drill/core/memory.py)
    memory.trim_every()
    rundir = Path(sys.argv[1])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    (rundir / "dataplane.pid").write_text(str(os.getpid()))
    dp = DataPlane(rundir)
    info = dp.start()
    tmp = rundir / "dataplane-ready.json.tmp"
    tmp.write_text(json.dumps(info))
    tmp.replace(rundir / "dataplane-ready.json")
    while not stop.wait(0.5):
        pass
    dp.shutdown()


if __name__ == "__main__":
    main()
