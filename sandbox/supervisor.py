"""The twin's supervisor process: the composition root. It starts every part, wires their hooks,
serves the control API, and tears everything down on SIGTERM/SIGINT (removing its runtime
directory). The Kubernetes clusters' start-up (seeding, reconcilers, API servers, kubeconfig) is
``sandbox.clusters``; the data plane runs in a child process (``sandbox.dataplane``).

Started by ``drill sandbox up`` (``sandbox.client.up``) as ``python -m sandbox.supervisor
RUNTIME_DIR``; the resolved config arrives as RUNTIME_DIR/config.json. Progress and failures go
to RUNTIME_DIR/state.json.
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
from pathlib import Path
from typing import Any

from drill.core import memory
from drill.core.aws import make_client
from drill.core.schema import ROLES, Config
from sandbox.client import port_taken, write_json_atomic
from sandbox.events import EVENTS
from sandbox.twin import Twin

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}


def free_port(host: str, kind: int = socket.SOCK_STREAM, want: int = 0) -> int:
    for port in ([want] if want else []) + [0]:
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise OSError(f"no free port on {host}")


class Supervisor:
    def __init__(self, rundir: Path):
        raw = json.loads((rundir / "config.json").read_text())
        self.rundir = rundir
        self.cfg = Config.model_validate(raw["config"])
        self.raw = raw
        self.host = self.cfg.sandbox.host
        self.localstack: dict[str, Any] | None = raw.get("localstack")
        self.secrets = {"admin_password": secrets.token_hex(12), "app_password": secrets.token_hex(12),
                        "slack_token": "xoxb-twin-" + secrets.token_hex(12)}
        self.twin = Twin(rundir, self.cfg, self.cfg.sandbox.account_id, raw.get("posture") or self.cfg.sandbox.posture)
        self.twin.state = {"pid": os.getpid(), "healthy": False, "phase": "starting", "runtime_dir": str(rundir),
                           "posture": self.twin.posture, "applied": raw.get("applied", {}),
                           "started_at": time.time(), "account_id": self.cfg.sandbox.account_id,
                           "regions": {r: self.cfg.side(r).region for r in ROLES}}
        self.timings: dict[str, float] = {}
        self.servers: list[Any] = []
        self.dataplane: Any = None

    def save_state(self) -> None:
        write_json_atomic(self.rundir / "state.json", self.twin.state)

    def timed(self, name: str, start: float) -> None:
        """A start-up part done: timed, and written to the state so `up` can show the steps."""
        self.timings[name] = round(time.monotonic() - start, 3)
        self.twin.state["timings"] = dict(self.timings)
        self.save_state()

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        cache = self.__dict__.setdefault("_clients", {})
        if key not in cache:
            cache[key] = make_client(service, region, self.aws_url, credentials=("testing", "testing"), attempts=1,
                                     connect_timeout=2, read_timeout=10, pool=50)
        return cache[key]

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        cfg, twin = self.cfg, self.twin
        for name in type(cfg.sandbox.ports).model_fields:
            port = int(getattr(cfg.sandbox.ports, name))
            if port and port_taken(self.host, port):
                raise SystemExit(f"sandbox.ports.{name}: port {port} on {self.host} is in use")
        os.environ.update(AWS_ENV)
        os.environ["MOTO_ACCOUNT_ID"] = cfg.sandbox.account_id
        # before any part can report healthy: a client attaches as soon as the state says so
        write_json_atomic(self.rundir / "secrets.json", {"slack_token": self.secrets["slack_token"]})
        t0 = time.monotonic()
        mysql = self._start_mysql()
        t = time.monotonic()
        from sandbox.aws import ext, ext_rds, ext_stores
        from sandbox.aws.backends import Backends
        from sandbox.aws.server import MotoServer

        ext.install()
        ext_rds.TRANSITION_S[0] = 1.0
        self.moto = MotoServer(self.host, cfg.sandbox.ports.aws, route=self._router())
        self.aws_url = f"http://{self.host}:{self.moto.port}"
        twin.client, twin.backends = self.client, Backends(cfg.sandbox.account_id)
        twin.state.update(aws_endpoint=self.aws_url, aws_routing=self._routing())
        self.timed("aws", t)
        mysql.join(timeout=90)
        if self.mysql_error is not None:
            raise self.mysql_error
        if mysql.is_alive():
            raise TimeoutError("MariaDB pair did not start within 90 s")
        self.db_ports = {r: free_port(twin.plan.db(r), want=cfg.rds.port) for r in ROLES}
        for role in ROLES:
            ext_rds.set_region_endpoint(cfg.side(role).region, twin.plan.db(role), self.db_ports[role])
        EVENTS.rds_promote.add_listener(twin.on_promote)
        EVENTS.network_changed.add_listener(lambda region, **_: twin.recompute_network(region))
        self._start_slack()
        self._provision()
        EVENTS.rds_create_replica.add_listener(twin.on_create_replica)  # after the provisioner's own replica
        twin.recompute_network()
        self._start_behaviour()
        ext_stores.set_health_status_provider(twin.health_status)
        self._start_kubernetes()
        from sandbox.control import make_control_app
        from sandbox.httpserver import Server

        self.control = Server(make_control_app(twin, self), self.host, cfg.sandbox.ports.control, "control")
        self.servers.append(self.control)
        twin.state["control_url"] = self.control.url
        t = time.monotonic()
        self._start_dataplane()
        self.timed("dataplane", t)
        self._settle()
        self.timed("total", t0)
        twin.state.update(phase="running", timings=self.timings)
        self.save_state()
        twin.event("sandbox_up", timings=self.timings)

    def _start_mysql(self) -> threading.Thread:
        from sandbox.rds.mysql import RdsPair

        cfg = self.cfg
        tables = tuple(sorted({w.data.split(":", 1)[1] for w in cfg.workloads if w.data and w.data.startswith("rds:")}))
        self.twin.rds = RdsPair(base=self.rundir / "mysql", database=cfg.rds.database,
                                admin_user=cfg.sandbox.rds.admin_user, admin_password=self.secrets["admin_password"],
                                app_user=cfg.sandbox.rds.app_user, app_password=self.secrets["app_password"],
                                delay_s=cfg.sandbox.rds.replication_delay_s, host=self.host,
                                ports=(cfg.sandbox.ports.mysql_primary, cfg.sandbox.ports.mysql_replica),
                                bin_dir=cfg.sandbox.mariadb_bin_dir, tables=tables)
        self.mysql_error: BaseException | None = None

        def run() -> None:
            t = time.monotonic()
            try:
                self.twin.rds.start()
            except BaseException as exc:  # reported by the main thread
                self.mysql_error = exc
            self.timed("mysql", t)

        thread = threading.Thread(target=run, name="mysql-start", daemon=True)
        thread.start()
        return thread

    def _router(self) -> Any:
        if not self.localstack:
            return None
        from sandbox.aws.server import Router

        ls = self.localstack

        def route(app: Any) -> Router:
            return Router(app, ls["url"], set(ls["signing"]), on_s3_put=self._ls_s3_put,
                          health_status=self.twin.health_status)

        return route

    def _ls_s3_put(self, bucket: str, key: str) -> None:
        """An object LocalStack stored (it has no CRR): hand it to the CRR worker like moto's hook."""
        if self.twin.s3_repl is not None:
            self.twin.s3_repl.on_put(bucket, key)

    def _routing(self) -> dict[str, Any]:
        if not self.localstack:
            return {"emulator": "moto (in the twin's supervisor)"}
        ls = self.localstack
        ddb = "dynamodb" in ls["services"]
        return {"localstack": ls["url"], "localstack_version": ls.get("version"),
                "to_localstack": sorted(ls["services"]), "to_emulator": sorted(ls.get("to_emulator", [])),
                "supplied_by_twin": ["S3 cross-region replication (LocalStack stores CRR rules but copies nothing)",
                                     "Route 53 health-check evaluation (LocalStack always reports Success)"]
                + ([] if ddb else ["DynamoDB global-table replication"])}

    def _start_slack(self) -> None:
        from sandbox.httpserver import Server
        from sandbox.slack import SlackSink

        self.twin.slack = SlackSink(self.rundir / "slack.jsonl", self.secrets["slack_token"])
        server = Server(self.twin.slack, self.host, self.cfg.sandbox.ports.slack, "slack")
        self.servers.append(server)
        self.slack_url = server.url
        self.twin.state.update(slack_api=server.url + "/api")

    def _provision(self) -> None:
        from sandbox.aws.provision import Secrets, provision
        from sandbox.replication.ecr import EcrReplicator

        t = time.monotonic()
        self.twin.ecr_repl = EcrReplicator(self.client, self.cfg.sandbox.account_id)  # images pushed below replicate
        EVENTS.ecr_image.add_listener(self.twin.ecr_repl.on_image)
        if self.localstack:
            from sandbox.aws.localstack import clear

            removed = clear(self.cfg, self.client, self.localstack["services"])
            self.twin.event("localstack_cleared", removed=removed)
        webhook = f"{self.slack_url}/services/T0TWIN/B0ALERTS/{secrets.token_hex(12)}"
        self.twin.inventory = provision(
            self.cfg, self.client, Secrets(self.cfg.sandbox.rds.admin_user, self.secrets["admin_password"],
                                           self.cfg.sandbox.rds.app_user, self.secrets["app_password"], webhook),
            self.twin.posture, policy_interval_s=self.raw.get("policy_health_check_interval_s"))
        if not self.localstack or "cognito-idp" not in self.localstack["services"]:
            from sandbox.aws.provision_edge import adopt_ids

            adopt_ids(self.cfg, self.twin.backends.cognito, self.twin.inventory)
        self.timed("provision", t)

    def _start_behaviour(self) -> None:
        from sandbox.aws.alarms import Monitor
        from sandbox.aws.fis import FisRunner
        from sandbox.aws.fis import install as install_fis
        from sandbox.aws.lambdas import Lambdas
        from sandbox.replication.dynamodb import DynamoReplicator
        from sandbox.replication.s3 import S3Replicator

        cfg, twin, b = self.cfg, self.twin, self.twin.backends
        t = time.monotonic()
        regions = [cfg.side(r).region for r in ROLES]
        poll = cfg.sandbox.timing.replication_poll_s
        twin.ddb_repl = DynamoReplicator(self.client, regions, [x.name for x in cfg.dynamodb.tables],
                                         cfg.sandbox.dynamodb.replication_delay_s, poll, b.dynamodb)
        buckets = {name: cfg.side(r).region for r in ROLES for name in cfg.side(r).buckets}
        twin.s3_repl = S3Replicator(self.client, buckets, cfg.sandbox.s3.replication_delay_s, poll)
        EVENTS.s3_put.add_listener(twin.s3_repl.on_put)
        if self.localstack and "dynamodb" in self.localstack["services"]:
            twin.ddb_repl.external = "LocalStack global tables"
        else:
            EVENTS.stream_record.add_listener(twin.ddb_repl.on_record)
            twin.ddb_repl.discover()
            twin.ddb_repl.start()
        twin.s3_repl.reconcile()
        twin.s3_repl.start()
        twin.lambdas = Lambdas(b.functions, b.cognito)
        EVENTS.lambda_invoke.add_listener(twin.lambdas.invoke)
        EVENTS.cognito_confirmed.add_listener(twin.lambdas.on_cognito_confirmed)
        twin.monitor = Monitor(self.client, b.cloudwatch, regions, cfg.sandbox.timing.metrics_interval_s,
                               cfg.sandbox.timing.alarm_eval_s, twin.lags, twin.health_metrics)
        EVENTS.sns_delivered.add_listener(twin.monitor.on_delivery)
        twin.monitor.start()

        def alarm_state(arn: str) -> str | None:
            parts = arn.split(":")
            alarm = b.cloudwatch(parts[3]).alarms.get(parts[-1]) if len(parts) > 6 else None
            return alarm.state_value if alarm is not None else None

        twin.fis = FisRunner(b.ec2, twin.pause, alarm_state)
        install_fis(twin.fis)
        self.timed("behaviour", t)

    def _start_kubernetes(self) -> None:
        from sandbox import clusters

        t = time.monotonic()
        clusters.start(self.cfg, self.twin, self.host, self.rundir, self.servers,
                       lambda: bool(self.__dict__.get("stopping")))
        self.timed("kubernetes", t)

    def _start_dataplane(self) -> None:
        import subprocess

        cfg, twin, inv = self.cfg, self.twin, self.twin.inventory
        addresses = {inv.albs[alb.name][role]: twin.plan.alb(role, i)
                     for i, alb in enumerate(cfg.albs) for role in ROLES}
        dns_port = cfg.sandbox.ports.dns or free_port(twin.plan.dns, socket.SOCK_DGRAM, want=0)
        spec = {"control_url": self.control.url, "aws_url": self.aws_url, "albs": inv.albs, "addresses": addresses,
                "db": {r: {"listen": [twin.plan.db(r), self.db_ports[r]],
                           "target": [s.host, s.port]} for r, s in twin.rds.servers.items()},
                "dns": {"address": twin.plan.dns, "port": dns_port},
                "cloudfront": {"id": inv.distribution_id, "domain": inv.distribution_domain,
                               "address": twin.plan.cloudfront},
                "login": {"username": cfg.sandbox.rds.app_user, "password": self.secrets["app_password"]}}
        write_json_atomic(self.rundir / "dataplane.json", spec)
        out = open(self.rundir / "dataplane.out", "ab")
        self.dataplane = subprocess.Popen([sys.executable, "-m", "sandbox.dataplane", str(self.rundir)],
                                          stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        out.close()
        ready = self.rundir / "dataplane-ready.json"
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.dataplane.poll() is not None:
                lines = (self.rundir / "dataplane.out").read_text(errors="replace").strip().splitlines()
                raise RuntimeError("data plane exited: " + (lines[-1] if lines else "no output"))
            if time.monotonic() > deadline:
                raise TimeoutError("data plane not ready within 60 s")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        twin.state.update(resolver=f"{twin.plan.dns}:{info['dns_port']}", addresses=addresses,
                          endpoints_port=info["port"])

    def _settle(self) -> None:
        twin = self.twin
        deadline = time.monotonic() + 30
        while not all(p["healthy"] for n, p in twin.part_status().items() if n.startswith("k8s")):
            if time.monotonic() > deadline:
                bad = {n: p["detail"] for n, p in twin.part_status().items() if n.startswith("k8s") and not p["healthy"]}
                raise TimeoutError(f"clusters not ready within 30 s: {bad}")
            time.sleep(0.1)
        twin.start_checker = True  # Route 53 starts checking once the targets are registered and ready
        while not (twin.refresh_state()["healthy"] and len(twin.health_metrics()) == len(twin.inventory.health_checks)
                   and all(h for _, h in twin.health_metrics())):
            if time.monotonic() > deadline:
                unhealthy = [n for n, p in twin.state["parts"].items() if not p["healthy"]]
                raise TimeoutError(f"parts not healthy within 30 s: {', '.join(unhealthy) or 'health checks'}")
            time.sleep(0.2)

    # ------------------------------------------------------------------ stop

    def shutdown(self) -> None:
        self.__dict__["stopping"] = True
        if self.dataplane is not None and self.dataplane.poll() is None:
            self.dataplane.terminate()
            try:
                self.dataplane.wait(10)
            except Exception:
                self.dataplane.kill()
        twin = self.twin
        for part in (twin.ddb_repl, twin.s3_repl, twin.monitor, twin.load_pods):
            if part is not None:
                part.stop()
        for server in self.servers:
            try:
                server.shutdown()
            except Exception:
                pass
        if twin.rds is not None:
            twin.rds.close()
        moto = getattr(self, "moto", None)
        if moto is not None:
            try:
                moto.stop()
            except Exception:
                pass


def _arm_tracing(folder: Path) -> None:
    """Diagnostic (bench/soak.py --trace): the first SIGUSR2 starts tracemalloc, each next one dumps
    a snapshot into ``folder``. A failed dump is reported, never raised (it would end the twin)."""
    import tracemalloc

    folder.mkdir(parents=True, exist_ok=True)
    dumps = [0]

    def handler(*_: object) -> None:
        try:
            if not tracemalloc.is_tracing():
                tracemalloc.start(4)
            else:
                tracemalloc.take_snapshot().dump(str(folder / f"twin-{dumps[0]:03d}.snapshot"))
                dumps[0] += 1
        except Exception as exc:
            print(f"tracemalloc: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGUSR2, handler)


def _pymalloc_stats(path: Path) -> None:
    """``sys._debugmallocstats()`` writes to the C stderr: point it at ``path`` for the call (a
    diagnostic: another thread's stderr line written meanwhile lands in the file, not the log)."""
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    saved = os.dup(2)
    try:
        os.dup2(fd, 2)
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


def _arm_counts(folder: Path) -> None:
    """Diagnostic, lighter than tracemalloc (no slowdown between signals): each SIGUSR2 writes how
    many objects of each class the collector tracks into ``folder`` (twin-NNN.counts.json), and
    CPython's small-object allocator's summary (twin-NNN.pymalloc.txt): its arenas against the
    bytes its live objects use, which tells memory held by objects from memory kept by the allocator."""
    import collections
    import gc

    folder.mkdir(parents=True, exist_ok=True)
    dumps = [0]

    def handler(*_: object) -> None:
        try:
            counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
            try:  # first: bench/soak.py waits for the counts; a failure here must not cost them
                _pymalloc_stats(folder / f"twin-{dumps[0]:03d}.pymalloc.txt")
            except Exception as exc:
                print(f"pymalloc stats: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            write_json_atomic(folder / f"twin-{dumps[0]:03d}.counts.json", dict(counts.most_common(200)))
            dumps[0] += 1
        except Exception as exc:
            print(f"counts: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGUSR2, handler)


def main() -> None:
    # many threads share this process's GIL; hand it over more often so that the replication
    # workers deliver on time while the emulator is busy
    sys.setswitchinterval(0.001)
    memory.limit_arenas()  # before the twin's threads start (drill/core/memory.py); trimmed below
    rundir = Path(sys.argv[1])
    sup = Supervisor(rundir)
    trace_dir = os.environ.get("DRILL_TWIN_TRACEMALLOC")
    if os.environ.get("DRILL_TWIN_COUNTS"):
        _arm_counts(Path(os.environ["DRILL_TWIN_COUNTS"]))
        sup.twin.state["counting"] = True  # SIGUSR2's default would end the twin: bench/soak.py asks first
    if trace_dir:
        _arm_tracing(Path(trace_dir))
        sup.twin.state["tracing"] = True  # bench/soak.py signals only a twin that says so
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        sup.start()
    except BaseException as exc:
        sup.twin.state.update(phase="failed", healthy=False,
                              error=str(exc) if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}")
        (rundir / "supervisor.log").write_text(traceback.format_exc())
        sup.save_state()
        sup.shutdown()
        sys.exit(1)
    memory.trim_every()
    while not stop.wait(1.0):
        sup.twin.state["dataplane_alive"] = sup.dataplane is not None and sup.dataplane.poll() is None
    sup.twin.state["phase"] = "stopping"
    sup.save_state()
    sup.shutdown()
    shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
