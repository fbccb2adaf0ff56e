"""The twin's user-facing data plane, in its own process: the regional ALBs, the Route 53
health checker and the edge.

It has a core of its own, so user traffic does not compete with the AWS emulator for the
supervisor's GIL. It mirrors the supervisor's fault switches and pod availability (polled
from the control API every ``SYNC_S``) and pushes health-check observations and DNS answer
changes back, so GetHealthCheckStatus, the event log and the Slack alerts stay in the
supervisor.

Started by the supervisor as ``python -m sandbox.dataplane RUNTIME_DIR``.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

SYNC_S = 0.1


def _post(url: str, body: Any, timeout: float = 5.0) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def _get(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


class DataPlane:
    def __init__(self, rundir: Path):
        from drill.config import Config

        self.rundir = rundir
        raw = json.loads((rundir / "config.json").read_text())
        self.cfg = Config.model_validate(raw["config"])
        self.spec = json.loads((rundir / "dataplane.json").read_text())
        self.control = self.spec["control_url"]
        self._stop = threading.Event()
        self.servers: list[Any] = []
        self._pending_transitions: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        cache = self.__dict__.setdefault("_clients", {})
        if key not in cache:
            import boto3
            from botocore.config import Config as BotoConfig

            cache[key] = boto3.client(service, region_name=region, endpoint_url=self.spec["aws_url"],
                                      aws_access_key_id="testing", aws_secret_access_key="testing",
                                      config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=2,
                                                        read_timeout=5, max_pool_connections=64))
        return cache[key]

    def start(self) -> dict[str, Any]:
        from sandbox.httpserver import FastServer, Server
        from sandbox.route53 import Edge, HealthChecker, Resolver
        from sandbox.services import AlbApp, RegionServices

        cfg, spec = self.cfg, self.spec
        self.regions: dict[str, RegionServices] = {}
        for role in ("primary", "dr"):
            db = spec["mysql"][role]
            self.regions[role] = RegionServices(cfg, role, (lambda d=db: (d["host"], d["port"])),
                                                cfg.sandbox.rds.app_user, spec["app_password"], self.client)
        self.sync_once()
        self.alb_ports: dict[str, int] = {}
        albs: dict[str, tuple[str, Any]] = {}
        host = cfg.sandbox.host
        for alb in cfg.albs:
            for role in ("primary", "dr"):
                dns = spec["albs"][alb.name][role]
                app = AlbApp(cfg, self.regions[role], alb.serves)
                port = int(spec["ports"].get(f"alb_{role}", 0)) if alb is cfg.albs[0] else 0
                server = Server(app, host, port, f"alb-{alb.name}-{role}")
                self.servers.append(server)
                self.alb_ports[dns] = server.port
                albs[dns] = (cfg.region_name(role), app)
        r53 = self.client("route53", "us-east-1")
        self.checker = HealthChecker(r53, self.alb_ports, cfg.route53.health_check.interval_s,
                                     self._on_change, host)
        self.checker.refresh()
        self.resolver = Resolver(r53, spec["zone_id"], self.checker.healthy, cfg.route53.ttl_s)
        self.edge = Edge(self.resolver, albs, status=self.status)
        self.edge_server = FastServer(self.edge, host, int(spec["ports"].get("edge", 0)), "edge",
                                      blocking=self._blocking)
        self.servers.append(self.edge_server)
        for h in cfg.routed_hosts():
            self.resolver.resolve(cfg.fqdn(h))
        threading.Thread(target=self._sync_loop, name="dataplane-sync", daemon=True).start()
        return {"edge_port": self.edge_server.port, "alb_ports": self.alb_ports,
                "albs": {dns: region for dns, (region, _) in albs.items()}}

    # ------------------------------------------------------------------ sync with the supervisor

    def sync_once(self) -> None:
        state = _get(self.control + "/dataplane/state", timeout=2)
        for role, svc in self.regions.items():
            st = state[role]
            svc.region_down = bool(st["region_down"])
            svc.failed = dict(st["failed"])
            available: dict[str, int] = dict(st["available"])
            svc.available = (lambda dep, a=available: int(a.get(dep, 0)))
        if state.get("start_checker") and not self.checker.thread.is_alive():
            self.checker.start()

    def _sync_loop(self) -> None:
        pushed_changes = 0
        last_push = 0.0
        while not self._stop.wait(SYNC_S):
            try:
                self.sync_once()
                with self._lock:
                    transitions, self._pending_transitions = self._pending_transitions, []
                changes = self.resolver.changes[pushed_changes:]
                if transitions or changes or time.monotonic() - last_push > 0.5:
                    _post(self.control + "/dataplane/health", {
                        "checks": [self._check_view(c) for c in list(self.checker.checks.values())],
                        "transitions": transitions, "dns_changes": changes}, timeout=2)
                    pushed_changes += len(changes)
                    last_push = time.monotonic()
            except Exception:  # the supervisor may be stopping; next tick retries
                continue

    @staticmethod
    def _blocking(req: Any) -> bool:
        """Requests that reach a store (database, DynamoDB, S3) run on the pool; the rest inline."""
        return "/api/" in req.path and not req.path.endswith("/health")

    def _check_view(self, st: Any) -> dict[str, Any]:
        return {"id": st.id, "fqdn": st.fqdn, "path": st.path, "healthy": st.healthy,
                "status": st.last_status, "checked_at": st.checked_at, "disabled": st.disabled,
                "inverted": st.inverted}

    def _on_change(self, st: Any) -> None:
        with self._lock:
            self._pending_transitions.append({**self._check_view(st), "at": time.time()})

    def status(self) -> dict[str, Any]:
        answers = {}
        for h in self.cfg.routed_hosts():
            fqdn = self.cfg.fqdn(h)
            dns = self.resolver.resolve(fqdn)
            answers[fqdn] = {"target": dns, "region": self.edge.albs.get(dns or "", ("", None))[0]}
        return {"answers": answers, "requests": self.edge.requests,
                "checks": [self._check_view(c) for c in self.checker.checks.values()]}

    def shutdown(self) -> None:
        self._stop.set()
        self.checker.stop()
        for server in self.servers:
            try:
                server.shutdown()
            except Exception:
                pass


def main() -> None:
    rundir = Path(sys.argv[1])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
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
