"""The sandbox twin's supervisor process: starts every part, serves the control API, and
tears everything down on SIGTERM/SIGINT (removing its runtime directory).

Started by ``drill sandbox up`` as ``python -m sandbox.supervisor RUNTIME_DIR``; the resolved
config arrives as RUNTIME_DIR/config.json. Progress and failures go to RUNTIME_DIR/state.json.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
import traceback
from functools import cache
from pathlib import Path
from typing import Any

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


class Supervisor:
    def __init__(self, rundir: Path):
        from drill.config import Config

        self.rundir = rundir
        raw = json.loads((rundir / "config.json").read_text())
        self.cfg = Config.model_validate(raw["config"])
        self.applied = raw.get("applied", {})
        self.policy_hc_interval = raw.get("policy_health_check_interval_s")
        self.posture = raw.get("posture") or self.cfg.sandbox.posture
        # localstack target: {"url": ..., "services": [names as in config], "signing": [SigV4 names]}
        self.localstack: dict[str, Any] | None = raw.get("localstack")
        self.host = self.cfg.sandbox.host
        self.timings: dict[str, float] = {}
        self.parts: dict[str, Any] = {}
        self.servers: list[Any] = []
        self.state: dict[str, Any] = {"pid": os.getpid(), "healthy": False, "phase": "starting",
                                      "runtime_dir": str(rundir), "posture": self.posture,
                                      "applied": self.applied, "started_at": time.time()}
        self._stop = threading.Event()
        self.events_path = rundir / "events.jsonl"
        self._events_lock = threading.Lock()
        self.secrets = {"admin_password": secrets.token_hex(12), "app_password": secrets.token_hex(12)}
        self.start_checker = False
        self.checks: dict[str, dict[str, Any]] = {}
        self.dns_changes: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ helpers

    def event(self, kind: str, **data: Any) -> None:
        rec = {"at": time.time(), "event": kind, **data}
        with self._events_lock, self.events_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def save_state(self) -> None:
        from sandbox.state import write_json_atomic

        write_json_atomic(self.rundir / "state.json", self.state)

    def port(self, name: str) -> int:
        return int(getattr(self.cfg.sandbox.ports, name))

    def timed(self, name: str, start: float) -> None:
        self.timings[name] = round(time.monotonic() - start, 3)

    @cache  # noqa: B019 - one client per (service, region) for the process life
    def client(self, service: str, region: str) -> Any:
        import boto3
        from botocore.config import Config as BotoConfig

        return boto3.client(service, region_name=region, endpoint_url=self.aws_url,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10,
                                              max_pool_connections=50))

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        cfg = self.cfg
        for name in cfg.sandbox.ports.model_fields:
            port = self.port(name)
            if port and port_taken(self.host, port):
                raise SystemExit(f"sandbox.ports.{name}: port {port} on {self.host} is in use")
        os.environ.update(AWS_ENV)
        os.environ["MOTO_ACCOUNT_ID"] = cfg.sandbox.account_id
        t0 = time.monotonic()

        # RDS data plane, in parallel with the AWS control plane
        from sandbox.mysql import RdsPair

        self.rds = RdsPair(base=self.rundir / "mysql", database=cfg.rds.database,
                           admin_user=cfg.sandbox.rds.admin_user, admin_password=self.secrets["admin_password"],
                           app_user=cfg.sandbox.rds.app_user, app_password=self.secrets["app_password"],
                           delay_s=cfg.sandbox.rds.replication_delay_s, host=self.host,
                           ports=(self.port("mysql_primary"), self.port("mysql_replica")),
                           bin_dir=cfg.sandbox.mariadb_bin_dir)
        mysql_error: list[BaseException] = []

        def start_mysql() -> None:
            t = time.monotonic()
            try:
                self.rds.start()
            except BaseException as exc:  # reported by the main thread
                mysql_error.append(exc)
            self.timed("mysql", t)

        mysql_thread = threading.Thread(target=start_mysql, daemon=True)
        mysql_thread.start()

        t = time.monotonic()
        from sandbox import moto_ext
        from sandbox.aws import MotoServer

        moto_ext.install()
        route = None
        if self.localstack:
            from sandbox.aws import Router

            ls = self.localstack

            def route(app: Any) -> Router:
                return Router(app, ls["url"], set(ls["signing"]), on_s3_put=self._s3_put,
                              health_status=self.health_status)

        self.moto = MotoServer(self.host, self.port("aws"), route=route)
        self.aws_url = f"http://{self.host}:{self.moto.port}"
        self.state["aws_routing"] = self.aws_routing()
        self.timed("aws", t)

        mysql_thread.join(timeout=60)
        if mysql_error:
            raise mysql_error[0]
        if mysql_thread.is_alive():
            raise TimeoutError("MariaDB pair did not start within 60 s")
        primary, replica = self.rds.servers["primary"], self.rds.servers["dr"]
        moto_ext.set_endpoint(cfg.regions.primary.name, cfg.rds.primary.id, self.host, primary.port)
        moto_ext.set_endpoint(cfg.regions.dr.name, cfg.rds.replica.id, self.host, replica.port)
        moto_ext.on_promote(self._on_promote)

        t = time.monotonic()
        if self.localstack:
            from sandbox.localstack import clear

            removed = clear(cfg, self.client, self.localstack["services"])
            self.timed("localstack_clear", t)
            self.event("localstack_cleared", removed=removed)
        t = time.monotonic()
        from sandbox.provision import provision

        self.inventory = provision(cfg, self.client, self.posture, rds_password=self.secrets["admin_password"],
                                   policy_interval_s=self.policy_hc_interval)
        self.timed("provision", t)
        moto_ext.on_create_replica(self._on_create_replica)  # after the provisioner's own replica
        self.secrets["secret_values"] = self.inventory.secret_values  # type: ignore[assignment]

        self._start_data_plane()
        t = time.monotonic()
        deadline = time.monotonic() + 30
        while not all(p["healthy"] for n, p in self.part_status().items() if n.startswith(("k8s", "services"))):
            if time.monotonic() > deadline:
                raise TimeoutError("clusters and services not ready within 30 s")
            time.sleep(0.1)
        self.start_checker = True  # Route 53 starts checking once the targets are registered and ready
        while not self.refresh_state()["healthy"]:
            if time.monotonic() > deadline:
                bad = [n for n, p in self.state["parts"].items() if not p["healthy"]]
                raise TimeoutError(f"parts not healthy within 30 s: {', '.join(bad)}")
            time.sleep(0.2)
        self.timed("settle", t)
        self.timed("total", t0)
        self.state["phase"] = "running"
        self.save_state()
        self.event("sandbox_up", timings=self.timings)

    def _start_data_plane(self) -> None:
        cfg = self.cfg
        from sandbox import moto_ext
        from sandbox.httpserver import Server
        from sandbox.k8s import Cluster, kubeconfig, make_app
        from sandbox.replication import DynamoReplicator, S3Replicator
        from sandbox.services import ServiceFlags
        from sandbox.slack import SlackSink

        t = time.monotonic()
        self.regions: dict[str, ServiceFlags] = {"primary": ServiceFlags(), "dr": ServiceFlags()}

        # Kubernetes: one API server per cluster
        self.clusters: dict[str, Cluster] = {}
        urls: dict[str, str] = {}
        ns = cfg.app_namespace
        for role in ("primary", "dr"):
            cl = cfg.cluster(role)
            svc = self.regions[role]
            cidr = (cfg.network.primary if role == "primary" else cfg.network.dr).cidr.split("/")[0]
            cluster = Cluster(cl.cluster, cfg.region_name(role), cl.version, "-".join(cidr.split(".")[:2]),
                              cfg.eks.pods_per_node, cfg.sandbox.timing.pod_start_s,
                              cfg.sandbox.timing.node_start_s, svc.service_up,
                              self._desired_nodes(role))
            for wl in cfg.workloads:
                replicas = wl.replicas if role == "primary" else min(wl.replicas, cfg.eks.standby_replicas)
                cluster.add_deployment(wl.deployment, ns, replicas, wl.name, wl.port)
            for group in cfg.system_services.values():
                for name in group:
                    cluster.add_deployment(name, "kube-system", 1 if role == "primary" else 1, name, None)
            for ing in cfg.ingresses:
                cluster.add_simple("ingresses", ns, ing.name, {"spec": {"ingressClassName": "alb", "rules": [
                    {"host": None if ing.host == "*" else ing.host, "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {
                            "name": ing.service, "port": {"number": ing.port}}}}]}}]}, "status": {}})
            for cm in cfg.configmaps:
                cluster.add_simple("configmaps", ns, cm, {"data": {"region": cfg.region_name(role)}})
            cluster.reconcile()
            server = Server(make_app(cluster), self.host, self.port(f"k8s_{role}"), f"k8s-{role}")
            self.servers.append(server)
            self.clusters[role] = cluster
            urls[cl.cluster] = server.url
        (self.rundir / "kubeconfig").write_text(kubeconfig(urls))
        threading.Thread(target=self._reconcile_loop, name="k8s-reconciler", daemon=True).start()
        self.timed("kubernetes", t)

        # Slack sink
        t = time.monotonic()
        self.slack = SlackSink(self.rundir / "slack.jsonl")
        self.slack_server = Server(self.slack, self.host, self.port("slack"), "slack")
        self.servers.append(self.slack_server)
        self.timed("slack", t)

        # Replication workers
        t = time.monotonic()
        roles = {"primary": cfg.regions.primary.name, "dr": cfg.regions.dr.name}
        poll = cfg.sandbox.timing.replication_poll_s
        from moto.dynamodb.models import dynamodb_backends

        from sandbox import aws

        account = cfg.sandbox.account_id
        self.ddb_repl = DynamoReplicator(self.client, list(roles.values()), [x.name for x in cfg.dynamodb.tables],
                                         cfg.sandbox.dynamodb.replication_delay_s, poll,
                                         local=lambda region: dynamodb_backends[account][region],
                                         region_down=lambda region: region in aws.down_regions)
        pairs: dict[str, tuple[str, str, str]] = {}
        for b in cfg.s3.buckets:
            pairs[b.name] = (roles["primary"], b.dr, roles["dr"])
            pairs[b.dr] = (roles["dr"], b.name, roles["primary"])
        self.s3_repl = S3Replicator(self.client, pairs, cfg.sandbox.s3.replication_delay_s, poll)
        moto_ext.on_s3_put(self.s3_repl.on_put)
        if self.ddb_by_localstack():
            self.ddb_repl.external = "LocalStack global tables"  # LocalStack replicates them itself
        else:
            moto_ext.on_stream_record(self.ddb_repl.on_record)
            self.ddb_repl._discover()
            self.ddb_repl.start()
        self.s3_repl.reconcile()
        self.s3_repl.start()
        self.timed("replication", t)

        # Control API last: once it answers, everything else is up
        from sandbox.control import make_control_app

        self.control_server = Server(make_control_app(self), self.host, self.port("control"), "control")
        self.servers.append(self.control_server)

        # The user-facing data plane (ALBs, health checker, edge) in its own process
        moto_ext.set_health_status_provider(self.health_status)
        t = time.monotonic()
        self._start_dataplane_process()
        self.timed("dataplane", t)

    def _start_dataplane_process(self) -> None:
        import subprocess

        from sandbox.state import write_json_atomic

        spec = {"control_url": self.control_server.url, "aws_url": self.aws_url,
                "zone_id": self.inventory.zone_id, "albs": self.inventory.albs,
                "mysql": {r: {"host": s.host, "port": s.port} for r, s in self.rds.servers.items()},
                "app_password": self.secrets["app_password"],
                "ports": {"edge": self.port("edge"), "alb_primary": self.port("alb_primary"),
                          "alb_dr": self.port("alb_dr")}}
        write_json_atomic(self.rundir / "dataplane.json", spec, mode=0o600)
        out = open(self.rundir / "dataplane.out", "ab")
        self.dataplane = subprocess.Popen([sys.executable, "-m", "sandbox.dataplane", str(self.rundir)],
                                          stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        out.close()
        ready = self.rundir / "dataplane-ready.json"
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.dataplane.poll() is not None:
                raise RuntimeError("data plane process exited: " + (self.rundir / "dataplane.out").read_text()[-300:])
            if time.monotonic() > deadline:
                raise TimeoutError("data plane not ready within 60 s")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        self.edge_url = f"http://{self.host}:{info['edge_port']}"
        self.alb_ports = info["alb_ports"]
        self.alb_regions = info["albs"]

    def _s3_put(self, bucket: str, key: str) -> None:
        """An object LocalStack stored (it has no CRR): hand it to the CRR worker like moto's hook."""
        repl = getattr(self, "s3_repl", None)
        if repl is not None:
            repl.on_put(bucket, key)

    def ddb_by_localstack(self) -> bool:
        return bool(self.localstack) and "dynamodb" in (self.localstack or {}).get("services", [])

    def aws_routing(self) -> dict[str, Any]:
        """Which AWS services answer from where (named in every report of a localstack run)."""
        if not self.localstack:
            return {"emulator": "moto (in the sandbox supervisor)"}
        return {"localstack": self.localstack["url"], "localstack_version": self.localstack.get("version"),
                "to_localstack": sorted(self.localstack["services"]),
                "to_emulator": sorted(self.localstack.get("to_emulator", [])),
                "supplied_by_sandbox": [
                    "S3 cross-region replication (LocalStack stores CRR rules but copies nothing)",
                    "Route 53 health-check evaluation (LocalStack always reports Success)"]
                + ([] if self.ddb_by_localstack() else ["DynamoDB global-table replication"])}

    def localstack_ok(self) -> tuple[bool, str]:
        from sandbox.localstack import SERVING, localstack_health

        assert self.localstack is not None
        try:
            services = localstack_health(self.localstack["url"], 3).get("services", {})
        except (OSError, ValueError) as exc:
            return False, f"LocalStack at {self.localstack['url']} not answering: {exc}"
        bad = [s for s in self.localstack["services"] if services.get(s) not in SERVING]
        routed = getattr(getattr(self.moto, "router", None), "forwarded", {})
        return not bad, (f"LocalStack at {self.localstack['url']}: {', '.join(self.localstack['services'])}"
                         + (f"; not available: {', '.join(bad)}" if bad else "")
                         + f"; forwarded {sum(routed.values())} requests")

    # ------------------------------------------------------------------ data plane sync

    def dataplane_state(self) -> dict[str, Any]:
        ns = self.cfg.app_namespace
        out: dict[str, Any] = {"start_checker": self.start_checker}
        for role, flags in self.regions.items():
            cluster = self.clusters[role]
            out[role] = {"region_down": flags.region_down, "failed": flags.failed,
                         "available": {d["metadata"]["name"]: int(d["status"].get("availableReplicas", 0))
                                       for d in cluster.list("deployments", ns)}}
        return out

    def dataplane_health(self, body: dict[str, Any]) -> None:
        for check in body.get("checks", []):
            self.checks[check["id"]] = check
        for tr in body.get("transitions", []):
            self.checks[tr["id"]] = tr
            self._on_health_change(tr)
        self.dns_changes.extend(body.get("dns_changes", []))

    def health_status(self, hc_id: str) -> tuple[bool, str, str]:
        st = self.checks.get(hc_id)
        if st is None:
            return True, "Success: not yet checked", ""
        return bool(st["healthy"]), str(st["status"]), str(st["checked_at"])

    def edge_status(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(self.edge_url + "/__drill/status", timeout=5) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def _desired_nodes(self, role: str) -> Any:
        cl = self.cfg.cluster(role)
        region = self.cfg.region_name(role)
        cache: dict[str, Any] = {"at": 0.0, "value": cl.nodes}

        def desired() -> int | None:
            if time.monotonic() - cache["at"] > 0.5:
                try:
                    ng = self.client("eks", region).describe_nodegroup(clusterName=cl.cluster,
                                                                        nodegroupName=cl.node_group)
                    cache["value"] = int(ng["nodegroup"]["scalingConfig"]["desiredSize"])
                except Exception:
                    pass
                cache["at"] = time.monotonic()
            return int(cache["value"])

        return desired

    def _reconcile_loop(self) -> None:
        interval = self.cfg.sandbox.timing.reconcile_interval_s
        while not self._stop.wait(interval):
            for cluster in self.clusters.values():
                try:
                    cluster.reconcile()
                except Exception as exc:
                    self.event("reconcile_error", cluster=cluster.name, error=str(exc)[:200])

    # ------------------------------------------------------------------ hooks

    def _on_health_change(self, st: dict[str, Any]) -> None:
        self.event("health_check", id=st["id"], fqdn=st["fqdn"], healthy=st["healthy"], status=st["status"],
                   observed_at=st.get("at"))
        hc = self.cfg.route53.health_check
        state = "OK" if st["healthy"] else "ALARM"
        text = (f"[{state}] Route 53 health check {st['id']} for {st['fqdn']}{st['path']}: "
                f"{'healthy again' if st['healthy'] else 'unhealthy'} ({st['status']})")
        self.slack.record(hc.alert_channel, {"text": text, "username": "route53-health-bot"})

    def _on_promote(self, region: str, db_id: str) -> None:
        role = "dr" if region == self.cfg.regions.dr.name else "primary"
        self.rds.promote(role)
        self.event("rds_promoted", region=region, db=db_id)

    def _on_create_replica(self, region: str, db_id: str, source: str) -> None:
        from sandbox import moto_ext

        role = "dr" if region == self.cfg.regions.dr.name else "primary"
        source_role = "primary" if role == "dr" else "dr"
        self.rds.reseed(role, source_role)
        server = self.rds.servers[role]
        moto_ext.set_endpoint(region, db_id, server.host, server.port)
        self.event("rds_replica_created", region=region, db=db_id, source=source)

    # ------------------------------------------------------------------ status

    def part_status(self) -> dict[str, dict[str, Any]]:
        parts: dict[str, dict[str, Any]] = {}

        def put(name: str, ok: bool, detail: str) -> None:
            parts[name] = {"healthy": bool(ok), "detail": detail}

        try:
            self.client("sts", "us-east-1").get_caller_identity()
            put("aws", True, f"moto at {self.aws_url}, posture {self.posture}")
        except Exception as exc:
            put("aws", False, str(exc)[:200])
        if self.localstack:
            put("localstack", *self.localstack_ok())
        ok, detail = self.rds.healthy()
        put("rds", ok, detail)
        for role, cluster in self.clusters.items():
            deps = cluster.list("deployments")
            ready = sum(1 for d in deps if d["status"].get("availableReplicas", 0) >= d["spec"]["replicas"])
            nodes = len(cluster._ready_nodes())
            put(f"k8s_{role}", ready == len(deps) and nodes > 0,
                f"{cluster.name}: {ready}/{len(deps)} deployments available, {nodes} nodes ready")
        ns = self.cfg.app_namespace
        for role, flags in self.regions.items():
            apps = [w for w in self.cfg.workloads if w.kind in ("app", "host")]
            bad = [w.name for w in apps if not flags.service_up(w.name) or flags.failed.get(w.name) == "health"
                   or self.clusters[role].available(w.deployment, ns) < 1]
            put(f"services_{role}", not bad, "all healthy" if not bad else "failing: " + ", ".join(bad))
        unhealthy = [c for c, st in self.checks.items() if not st["healthy"]]
        put("healthchecker", self.dataplane.poll() is None,
            f"{len(self.checks)} checks, unhealthy: {unhealthy or 'none'}")
        try:
            answers = self.edge_status()["answers"]
            put("edge", all(a["target"] for a in answers.values()),
                ", ".join(f"{h.split('.')[0]}->{a['region']}" for h, a in answers.items()))
        except OSError as exc:
            put("edge", False, f"edge not answering: {exc}")
        put("replication_dynamodb", True, json.dumps(self.ddb_repl.status()))
        put("replication_s3", True, json.dumps(self.s3_repl.status()))
        put("slack", True, f"{len(self.slack.messages)} messages")
        return parts

    def refresh_state(self) -> dict[str, Any]:
        parts = self.part_status()
        self.state.update({
            "healthy": all(p["healthy"] for p in parts.values()),
            "parts": parts,
            "aws_endpoint": self.aws_url,
            "aws_routing": self.aws_routing(),
            "edge_url": self.edge_url,
            "regions": {"primary": self.cfg.regions.primary.name, "dr": self.cfg.regions.dr.name},
            "control_url": self.control_server.url,
            "kubeconfig": str(self.rundir / "kubeconfig"),
            "mysql": {role: {"host": s.host, "port": s.port} for role, s in self.rds.servers.items()},
            "slack_sink": self.slack_server.url + "/services/T000/B000/sandbox",
            "albs": {dns: {"region": self.alb_regions[dns], "port": port} for dns, port in self.alb_ports.items()},
            "inventory": self.inventory.as_dict(),
            "timings": self.timings,
            "region_down": {r: s.region_down for r, s in self.regions.items()},
        })
        return self.state

    # ------------------------------------------------------------------ stop

    def shutdown(self) -> None:
        self._stop.set()
        dataplane = getattr(self, "dataplane", None)
        if dataplane is not None and dataplane.poll() is None:
            dataplane.terminate()
            try:
                dataplane.wait(10)
            except Exception:
                dataplane.kill()
        for stopper in ("ddb_repl", "s3_repl"):
            obj = getattr(self, stopper, None)
            if obj is not None:
                obj.stop()
        for server in self.servers:
            try:
                server.shutdown()
            except Exception:
                pass
        rds = getattr(self, "rds", None)
        if rds is not None:
            rds.close()
        moto = getattr(self, "moto", None)
        if moto is not None:
            try:
                moto.stop()
            except Exception:
                pass


def main() -> None:
    # many threads share this process's GIL; hand it over more often so that the replication
    # workers deliver on time while the emulator is busy
    sys.setswitchinterval(0.001)
    rundir = Path(sys.argv[1])
    sup = Supervisor(rundir)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sup.start()
        from sandbox.state import write_json_atomic

        write_json_atomic(rundir / "secrets.json", sup.secrets, mode=0o600)
    except BaseException as exc:
        sup.state.update(phase="failed", healthy=False,
                         error=str(exc) if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}")
        (rundir / "supervisor.log").write_text(traceback.format_exc())
        sup.save_state()
        sup.shutdown()
        sys.exit(1)
    while not stop.wait(1.0):
        pass
    sup.state["phase"] = "stopping"
    sup.save_state()
    sup.shutdown()
    shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
