"""The drill engine: one object per drill that the step functions drive.

Steps stay thin: they call these methods. Everything observed goes to the journal; the report
is rendered from the journal alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from drill import actions, probes
from drill.canary import CanaryWriter, DynamoCanary, RdsCanary, S3Canary, classify_aws, classify_mysql
from drill.config import REPO_ROOT, LoadedConfig
from drill.errors import ActionFailed
from drill.faults import FaultManager
from drill.journal import Journal
from drill.load import LoadRunner, as_reqs
from drill.measure import classify_writes, projected_rto, time_series, user_facing_rto
from drill.notify import Notifier
from drill.redact import Redactor
from drill.targets import SandboxTarget, Target, make_target, wait_until

STORES = ("rds", "dynamodb", "s3")


def new_drill_id(cadence: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{cadence}-{secrets.token_hex(2)}"


class Drill:
    def __init__(self, loaded: LoadedConfig, target: str = "sandbox", cadence: str = "quarterly",
                 reports_dir: Path | None = None, drill_id: str | None = None, lang: str = "en",
                 target_options: dict[str, Any] | None = None):
        self.loaded = loaded
        self.cfg = loaded.config
        self.policy_cfg = loaded.policy_values()
        self.cadence = cadence
        self.drill_id = drill_id or new_drill_id(cadence)
        self.dir = (reports_dir or REPO_ROOT / "reports") / self.drill_id
        self.dir.mkdir(parents=True, exist_ok=True)
        redactor = Redactor()
        hook = self.cfg.communication.webhook_url
        if hook:
            redactor.add(hook)
            redactor.add(hook.rstrip("/").rsplit("/", 1)[-1])
        self.journal = Journal(self.dir / "journal.jsonl", redactor)
        self.journal.write("drill_started", durable=True, drill_id=self.drill_id, target=target, cadence=cadence,
                           policy=self.cfg.policy.name, applied=loaded.applied(), set_args=loaded.set_args,
                           budgets=self.cfg.budgets.model_dump(mode="json"),
                           policy_waits={"declaration_s": self.policy_cfg.declaration.outage_s,
                                         "stabilization_s": self.policy_cfg.failback.stabilization_s},
                           applied_waits={"declaration_s": self.cfg.declaration.outage_s,
                                          "stabilization_s": self.cfg.failback.stabilization_s},
                           regions={"primary": self.cfg.regions.primary.name, "dr": self.cfg.regions.dr.name},
                           measure=self.cfg.measure.model_dump(mode="json"),
                           checklist=[c.model_dump(mode="json") for c in self.cfg.checklist],
                           regular_tests=[t.model_dump(mode="json") for t in self.cfg.regular_tests],
                           notices={k: v.model_dump() for k, v in self.cfg.communication.notices.items()})
        self.started_at = time.time()
        self.target: Target = make_target(target, loaded, self.journal, **(target_options or {}))
        self.journal.write("target_ready", target=self.target.name, emulated=self.target.emulated,
                           started_sandbox=getattr(self.target, "started_here", False))
        self.faults = FaultManager(self.target, self.journal)
        self.notifier = Notifier(self.cfg, self.journal, hook or self.target.slack_webhook(), lang)
        self.load: LoadRunner | None = None
        self.writers: dict[str, CanaryWriter] = {}
        self.verifiers: dict[str, Any] = {}
        self.marks: dict[str, float] = {}
        self.results: dict[str, Any] = {}
        self.closed = False
        self.current_phase = "starting"

    # ------------------------------------------------------------------ helpers

    def mark(self, name: str, **data: Any) -> float:
        rec = self.journal.write("mark", name=name, **data)
        self.marks[name] = float(rec["t"])
        return self.marks[name]

    @contextlib.contextmanager
    def phase(self, name: str, measured: bool = True, detail: str = "",
              started_at: float | None = None) -> Iterator[dict[str, Any]]:
        start = started_at if started_at is not None else self.journal.now()[0]
        info: dict[str, Any] = {}  # what the phase learned, journaled with it
        self.current_phase = name
        self.journal.write("phase_started", name=name, measured=measured)
        try:
            yield info
        except BaseException as exc:
            self.journal.write("phase", name=name, started_at=start, finished_at=self.journal.now()[0],
                               measured=measured, status="failed", detail=f"{type(exc).__name__}: {exc}"[:300],
                               **info)
            raise
        self.journal.write("phase", name=name, started_at=start, finished_at=self.journal.now()[0],
                           measured=measured, status="ok", detail=detail, **info)

    @property
    def interval(self) -> float:
        return self.cfg.measure.probe_interval_s

    # ------------------------------------------------------------------ steady state

    def apply_drill_settings(self) -> None:
        """On the sandbox, replication delays come from this drill's config (it may run on a twin
        started with other values)."""
        if isinstance(self.target, SandboxTarget):
            sb = self.cfg.sandbox
            self.target.control("POST", "/replication/rds", {"delay_s": sb.rds.replication_delay_s})
            status = self.target.control("GET", "/replication")
            for store, conf in (("dynamodb", sb.dynamodb), ("s3", sb.s3)):
                if "replicated_by" not in status[store]:  # a worker LocalStack stands for has no delay
                    self.target.control("POST", f"/replication/{store}", {"delay_s": conf.replication_delay_s})

    def steady_state(self) -> dict[str, Any]:
        """Health through the edge from the primary region, health checks healthy, lag under threshold."""
        cfg = self.cfg
        primary = cfg.regions.primary.name
        problems: list[str] = []
        for host in cfg.routed_hosts():
            status, region = probes.http_get(self.target, cfg.fqdn(host), cfg.route53.health_check.path)
            if (status, region) != (200, primary):
                problems.append(f"{cfg.fqdn(host)}: HTTP {status} from {region or 'nowhere'}")
        failing = [h for h in probes.health_check_ids(self.target) if probes.health_check_failing(self.target, h)]
        if failing:
            problems.append(f"health checks failing: {failing}")
        lag = probes.replica_lag_s(self.target)
        if lag is None or lag > cfg.rds.lag_threshold_s:
            problems.append(f"replica lag {lag} s (threshold {cfg.rds.lag_threshold_s} s)")
        result: dict[str, Any] = {"ok": not problems, "problems": problems, "replica_lag_s": lag}
        self.journal.write("steady_state", **result)
        return result

    def wait_steady_state(self, deadline_s: float = 60.0) -> dict[str, Any]:
        last: dict[str, Any] = {}

        def ok() -> bool:
            nonlocal last
            last = self.steady_state()
            return bool(last["ok"])

        try:
            wait_until(ok, deadline_s, "steady state", interval_s=0.5)
        except ActionFailed:
            pass
        return last

    # ------------------------------------------------------------------ traffic and canaries

    def start_traffic(self, warmup_s: float | None = None) -> None:
        """Start canaries and locust; run long enough before any fault that every store's DR copy
        holds surviving writes (warm-up = the longest replication delay + 3 s on the sandbox)."""
        cfg = self.cfg
        if warmup_s is None:
            sb = cfg.sandbox
            delays = [sb.rds.replication_delay_s, sb.dynamodb.replication_delay_s, sb.s3.replication_delay_s]
            warmup_s = (max(delays) if isinstance(self.target, SandboxTarget) else 0.0) + 3.0
        self._make_canaries(cfg.regions.primary.name)
        rate = cfg.measure.canary_rate_per_s
        base, host_header = self.target.edge()
        lc = cfg.load
        self.load = LoadRunner(base, self.dir / "load", api_host=cfg.fqdn("api") if host_header else "",
                               grafana_host=cfg.fqdn("grafana") if host_header else "",
                               users=lc.users, spawn_rate=lc.spawn_rate, user_rps=lc.user_rps,
                               workers=lc.workers, external_workers=lc.external_workers,
                               master_bind_host=lc.master_bind_host, master_port=lc.master_port,
                               grafana_url="" if host_header else f"https://{cfg.fqdn('grafana')}",
                               max_run_s=3600)
        self.load.start()
        self.journal.write("load_started", durable=True, pids=[p.pid for p in self.load.procs])
        for writer in self.writers.values():
            writer.start()
        if not self.load.wait_for_traffic(30):
            raise ActionFailed("locust produced no requests within 30 s (see load/locust.out)")
        self.journal.write("traffic_started", users=lc.users, user_rps=lc.user_rps, workers=lc.workers,
                           external_workers=lc.external_workers, canary_rate_per_s=rate, stores=list(self.writers))
        time.sleep(warmup_s)

    def _make_canaries(self, region: str) -> None:
        """A verifier and a writer per store, writing to ``region``; the canary table is created
        (and has reached the DR copy) before anything else happens."""
        cfg = self.cfg
        rate = cfg.measure.canary_rate_per_s
        rds = RdsCanary(cfg, self.drill_id, self.target.db_login(), self.target.db_endpoint)
        rds.prepare()
        ddb = DynamoCanary(cfg, self.drill_id, lambda r: self._canary_client("dynamodb", r))
        s3 = S3Canary(cfg, self.drill_id, lambda r: self._canary_client("s3", r))
        self.verifiers = {"rds": rds, "dynamodb": ddb, "s3": s3}
        self.writers = {
            "rds": CanaryWriter("rds", rate, self.journal, rds.write, classify_mysql, region),
            "dynamodb": CanaryWriter("dynamodb", rate, self.journal, ddb.write, classify_aws, region),
            "s3": CanaryWriter("s3", rate, self.journal, s3.write, classify_aws, region),
        }

    def _canary_client(self, service: str, region: str) -> Any:
        from botocore.config import Config as BotoConfig

        key = (service, region)
        cache = self.__dict__.setdefault("_canary_clients", {})
        if key not in cache:
            cache[key] = self.target.session().client(
                service, region_name=region, endpoint_url=self.target.endpoint_url(),
                config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2))
        return cache[key]

    def stop_traffic(self) -> None:
        for writer in self.writers.values():
            writer.stop()
        if self.load is not None:
            self.load.stop()
        self.journal.write("traffic_stopped")

    # ------------------------------------------------------------------ the failover

    def inject(self, name: str, **params: Any) -> float:
        fault_at = self.journal.now()[0]
        self.faults.inject(name, **params)
        self.marks["fault"] = fault_at
        self.journal.write("mark", name="fault", at=fault_at, fault=name)
        return fault_at

    def check_health_check_settings(self) -> list[str]:
        """The health checks in the target against the policy's own values (not a profile's)."""
        want = self.policy_cfg.route53.health_check
        checks = probes.health_checks(self.target)
        problems = [] if checks else ["no Route 53 health check on the zone's failover records"]
        for hc in checks:
            conf = hc["HealthCheckConfig"]
            got = (conf.get("ResourcePath"), conf.get("RequestInterval"), conf.get("FailureThreshold"))
            if got != (want.path, int(want.interval_s), want.failure_threshold):
                problems.append(f"{hc['Id']}: path/interval/threshold {got}, policy "
                                f"({want.path!r}, {int(want.interval_s)}, {want.failure_threshold})")
        self.journal.write("health_check_settings", checks=len(checks), problems=problems)
        return problems

    def wait_alert(self, channel: str, since: float) -> list[dict[str, Any]]:
        """Messages that reached ``channel`` since ``since`` (the sandbox's Slack sink)."""
        if not isinstance(self.target, SandboxTarget):
            import pytest

            pytest.skip(f"Slack messages are not observable on target {self.target.name}")
        sandbox = self.target
        found: list[dict[str, Any]] = []

        def arrived() -> bool:
            nonlocal found
            msgs = sandbox.control("GET", f"/slack?since={since}")
            found = [m for m in msgs if m["channel"] == channel]
            return bool(found)

        wait_until(arrived, self.cfg.measure.action_deadline_s, f"an alert in {channel}", self.interval)
        self.journal.write("alert_seen", channel=channel, count=len(found),
                           first_at=found[0]["at"], text=found[0]["payload"].get("text"))
        return found

    # ------------------------------------------------------------------ failback (quarterly)

    def fail_over_quietly(self) -> None:
        """Get to the DR state the failback starts from: outage, promotion, records to DR; canary
        writes then run against the DR region (no user traffic: this scenario measures the return)."""
        cfg = self.cfg
        deadline = cfg.measure.action_deadline_s
        # endpoints are looked up while the primary region still answers; writes go to DR
        self._make_canaries(cfg.regions.dr.name)
        self.inject_outage()
        with self.phase("failback_setup_failover") as info:
            info.update(actions.promote_replica(self.target, deadline))
            actions.switch_records(self.target, "dr")
            actions.wait_edge_serves(self.target, "dr", deadline, self.interval)
        for writer in self.writers.values():
            writer.start()
        time.sleep(2.0)
        self.mark("in_dr")

    def fail_back(self) -> dict[str, Any]:
        """Policy section 6, phase by phase: stabilization wait, data sync back, writes paused for
        the promotion of the new primary, Route 53 back, DR back to standby."""
        cfg = self.cfg
        deadline = cfg.measure.action_deadline_s
        self.faults.revert_all()  # the primary region is healthy again
        with self.phase("failback_stabilization", measured=False,
                        detail=f"policy wait: {cfg.failback.stabilization_s:g} s without failure "
                               f"(policy {self.policy_cfg.failback.stabilization_s:g} s)"):
            end = time.monotonic() + cfg.failback.stabilization_s
            while time.monotonic() < end:
                failing = [h for h in probes.health_check_ids(self.target)
                           if probes.health_check_failing(self.target, h)]
                if failing:  # the clock restarts while anything still fails
                    end = time.monotonic() + cfg.failback.stabilization_s
                time.sleep(self.interval)
        with self.phase("failback_sync") as info:
            info["rds"] = actions.recreate_replica(self.target, "primary", deadline)
            info["s3_copied"] = actions.sync_s3_back(self.target)
        with self.phase("failback_write_pause") as info:
            for writer in self.writers.values():
                writer.stop()
            # every store holds in the primary region what was written in DR before anything
            # moves back (the reverse S3 replication is removed only after this)
            dr, primary = cfg.regions.dr.name, cfg.regions.primary.name
            for store, verifier in self.verifiers.items():
                roles = ("dr", "primary") if store == "rds" else (dr, primary)
                wanted = verifier.surviving(roles[0])
                wait_until(lambda v=verifier, w=wanted, r=roles[1]: v.surviving(r) >= w, deadline,
                           f"{store} written in DR present in the primary region", self.interval)
                info[store] = len(wanted)
            actions.promote_instance(self.target, "primary", deadline)
        with self.phase("failback_dns") as info:
            info["records"] = actions.switch_records(self.target, "primary")
            actions.wait_edge_serves(self.target, "primary", deadline, self.interval)
        self.notifier.send("switchover_done", "failback to the primary region",
                           since=self.marks.get("in_dr"))
        notice = cfg.communication.notices["failback"]
        self.notifier.send("user_notice", notice.ko if self.notifier.lang == "ko" else notice.en)
        with self.phase("failback_standby") as info:
            info["rds"] = actions.recreate_replica(self.target, "dr", deadline)
            actions.stop_reverse_s3(self.target)
            info.update(actions.scale_dr(self.target, cfg.eks.dr.nodes, False, deadline, self.interval))
        self.wait_replication_caught_up()
        return self.measure_failback_rpo()

    def measure_failback_rpo(self) -> dict[str, Any]:
        """Writes acknowledged in the DR region during DR, looked for in the primary region."""
        cfg = self.cfg
        dr, primary = cfg.regions.dr.name, cfg.regions.primary.name
        out: dict[str, Any] = {}
        for store, writer in self.writers.items():
            writer.stop()
            surviving = self.verifiers[store].surviving("primary" if store == "rds" else primary)
            loss = classify_writes(store, [w for w in writer.writes if w.region == dr], surviving)
            entry = {**loss.as_dict(), "measured_s": loss.rpo_s}
            self.journal.write("rpo_failback", **entry)
            out[store] = entry
        self.results["rpo_failback"] = out
        return out

    @property
    def cognito(self) -> Any:
        """The checklist-6 login check (made on first use; the test user's password is a secret)."""
        if "_cognito" not in self.__dict__:
            from drill.cognito import CognitoCheck

            password = getattr(self.target, "secrets", {}).get("secret_values", {}).get("cognito_test_user_password")
            self.__dict__["_cognito"] = CognitoCheck(self.target, self.journal, password)
        return self.__dict__["_cognito"]

    # ------------------------------------------------------------------ consistency (weekly)

    def probe_global_tables(self) -> list[dict[str, Any]]:
        """Write a probe item in each region of each global table and time its arrival in the
        other region; the probes are deleted afterwards."""
        cfg = self.cfg
        regions = [cfg.regions.primary.name, cfg.regions.dr.name]
        budget = next((v for k, v in cfg.budgets.rpo_s.items() if k == "dynamodb"), 1.0)
        out = []
        for table in cfg.dynamodb.tables:
            for src, dst in (regions, regions[::-1]):
                key = {table.hash_key: {"S": f"drill-probe#{self.drill_id}#{src}"}}
                if table.range_key:
                    key[table.range_key] = {"S": "0"}
                self.target.client("dynamodb", src).put_item(TableName=table.name, Item=dict(key))
                reader = self.target.client("dynamodb", dst, journaled=False)
                try:
                    seen: float | None = wait_until(
                        lambda r=reader, t=table.name, k=key: "Item" in r.get_item(TableName=t, Key=k),
                        max(10.0, budget * 10), f"probe in {dst}", 0.02)
                except ActionFailed:
                    seen = None
                out.append({"table": table.name, "from": src, "to": dst,
                            "seen_after_s": round(seen, 3) if seen is not None else None})
                self.target.client("dynamodb", src).delete_item(TableName=table.name, Key=key)
        self.journal.write("global_table_probes", results=out)
        return out

    def wait_replication_caught_up(self) -> None:
        """Until every replication has delivered what it had (sandbox: the workers' queues and the
        replica's lag), then one more longest-delay for what was in flight."""
        sb = self.cfg.sandbox
        longest = max(sb.rds.replication_delay_s, sb.dynamodb.replication_delay_s, sb.s3.replication_delay_s)
        if isinstance(self.target, SandboxTarget):
            target = self.target

            def idle() -> bool:
                st = target.control("GET", "/replication")
                # a worker another system stands for (LocalStack's global tables) has no queue here
                return (all(st[w].get("pending", 0) == 0 for w in ("dynamodb", "s3"))
                        and (st["rds"].get("seconds_behind") or 0) == 0)

            wait_until(idle, self.cfg.measure.action_deadline_s, "replication caught up", 0.2)
        time.sleep(longest + 0.5)
        self.journal.write("replication_caught_up")

    def compare(self, store: str) -> list[str]:
        from drill.consistency import CHECKS

        diffs = CHECKS[store](self.target)
        self.journal.write("consistency", store=store, differences=diffs, count=len(diffs))
        return diffs

    def inject_outage(self) -> float:
        fault_at = self.journal.now()[0]
        self.faults.inject("region_outage", role="primary")
        self.marks["fault"] = fault_at
        self.journal.write("mark", name="fault", at=fault_at)
        return fault_at

    def wait_detection(self) -> float:
        hc = self.cfg.route53.health_check
        deadline = hc.interval_s * hc.failure_threshold * 3 + 30
        ids = probes.health_check_ids(self.target)
        if not ids:
            raise ActionFailed("no Route 53 health check exists: the outage cannot be detected")
        with self.phase("detection", started_at=self.marks["fault"]) as info:
            wait_until(lambda: any(probes.health_check_failing(self.target, h) for h in ids), deadline,
                       "health check reports the outage", self.interval)
            info["health_checks"] = ids
        detected = self.mark("detected")
        self.notifier.send("outage_confirmed", "health check failing", since=self.marks["fault"])
        return detected

    def declare(self) -> float:
        """The policy's declaration rule: the failure has lasted ``declaration.outage_s``."""
        wait = self.cfg.declaration.outage_s
        with self.phase("declaration", measured=False,
                        detail=f"policy wait: failure must last {wait:g} s "
                               f"(policy {self.policy_cfg.declaration.outage_s:g} s)") as info:
            end = self.marks["detected"] + wait
            while time.time() < end:
                time.sleep(min(0.2, max(0.0, end - time.time())))
            info["wait_s"] = wait
        declared = self.mark("declared")
        self.notifier.send("dr_declared", since=self.marks["fault"])
        self.notifier.start_progress(declared)
        return declared

    def failover(self) -> None:
        cfg = self.cfg
        deadline = cfg.measure.action_deadline_s
        with self.phase("promotion") as info:
            info.update(actions.promote_replica(self.target, deadline))
        dr = cfg.regions.dr.name
        for writer in self.writers.values():
            writer.retarget(dr)
        self.mark("promoted")
        with self.phase("dns") as info:
            info["records"] = actions.switch_records(self.target, "dr")
            info["waits"] = actions.wait_edge_serves(self.target, "dr", deadline, self.interval)
        self.mark("dns_switched")
        with self.phase("scale_up") as info:
            info.update(actions.scale_dr(self.target, cfg.eks.failover_nodes, True, deadline, self.interval))
        with self.phase("verification") as info:
            info["checks"] = actions.verify_services(self.target, "dr", deadline, self.interval)
        self.mark("verified")
        self.notifier.stop_progress()
        self.notifier.send("switchover_done", since=self.marks["declared"])
        notice = cfg.communication.notices["failover"]
        self.notifier.send("user_notice", notice.ko if self.notifier.lang == "ko" else notice.en,
                           since=self.marks["verified"])

    # ------------------------------------------------------------------ measurement

    def measure(self) -> dict[str, Any]:
        cfg = self.cfg
        window = cfg.measure.success_window_s
        dr = cfg.regions.dr.name
        assert self.load is not None
        end = time.monotonic() + window + 60
        rto = None
        while time.monotonic() < end:
            rto = user_facing_rto(as_reqs(self.load.records()), self.marks["fault"], dr, window,
                                  cfg.measure.success_ratio)
            if rto.rto_s is not None:
                break
            time.sleep(0.5)
        self.stop_traffic()
        records = self.load.records()
        rto = user_facing_rto(as_reqs(records), self.marks["fault"], dr, window, cfg.measure.success_ratio)
        self.journal.write("requests_summary", total=len(records), failed=sum(1 for r in records if not r.ok),
                           log=str((self.load.log_dir).relative_to(self.dir)))
        self.journal.write("traffic_series", bucket_s=1.0, buckets=time_series(as_reqs(records), 1.0))
        applied_wait = cfg.declaration.outage_s
        policy_wait = self.policy_cfg.declaration.outage_s
        rto_result: dict[str, Any] = {**rto.as_dict(), "budget_s": cfg.budgets.rto_s,
                                      "policy_wait_applied_s": applied_wait, "policy_wait_s": policy_wait}
        if rto.rto_s is not None:
            projected = projected_rto(rto.rto_s, applied_wait, policy_wait)
            rto_result["projected_s"] = projected
            rto_result["met"] = projected <= cfg.budgets.rto_s
        else:
            rto_result["projected_s"] = None
            rto_result["met"] = False
        self.journal.write("rto", **rto_result)
        self.results = {"rto": rto_result, "rpo": self.measure_rpo()}
        return self.results

    def measure_rpo(self) -> dict[str, Any]:
        """Classify every write made to the primary against what the DR copies hold now."""
        cfg = self.cfg
        rpo: dict[str, Any] = {}
        primary, dr = cfg.regions.primary.name, cfg.regions.dr.name
        for store, writer in self.writers.items():
            writer.stop()
            verifier = self.verifiers[store]
            surviving = verifier.surviving("dr" if store == "rds" else dr)
            loss = classify_writes(store, [w for w in writer.writes if w.region == primary], surviving)
            budget = next((v for k, v in cfg.budgets.rpo_s.items() if k == store), None)
            entry = {**loss.as_dict(), "budget_s": budget, "met": budget is None or loss.rpo_s <= budget,
                     "measured_s": loss.rpo_s}
            self.journal.write("rpo", **entry)
            rpo[store] = entry
        return rpo

    # ------------------------------------------------------------------ restore

    def restore(self) -> dict[str, Any]:
        """Undo faults, bring the target back to steady state, and check it."""
        self.stop_traffic_quietly()
        reverted = self.faults.revert_all()
        detail: dict[str, Any] = {"faults_reverted": reverted}
        if isinstance(self.target, SandboxTarget):
            reset = self.target.reset()
            detail["reset_steps"] = reset.get("steps")
        detail["canaries_removed"] = self.cleanup_canaries()
        state = self.wait_steady_state(60)
        detail["steady_state"] = state
        ok = bool(reverted and state.get("ok"))
        self.journal.write("restored", ok=ok, **detail)
        return {"ok": ok, **detail}

    def cleanup_canaries(self) -> dict[str, int]:
        """A drill leaves no data of its own behind (see ``canary.cleanup``)."""
        from drill.canary import cleanup

        return cleanup(self.cfg, self.target, self.drill_id, self.journal)

    def stop_traffic_quietly(self) -> None:
        running = [w for w in self.writers.values() if w.thread.is_alive()]
        if running or (self.load and any(p.poll() is None for p in self.load.procs)):
            self.stop_traffic()

    def _journal_messages(self) -> None:
        """The messages that reached the Slack sink during the drill, for the report."""
        if not isinstance(self.target, SandboxTarget):
            return
        try:
            msgs = self.target.control("GET", f"/slack?since={self.started_at}")
        except Exception:
            return
        for m in msgs:
            self.journal.write("slack_message", at=m["at"], channel=m["channel"],
                               text=m["payload"].get("text") or json.dumps(m["payload"].get("blocks"))[:500])

    def close(self, status: str = "finished") -> None:
        if self.closed:
            return
        self.closed = True
        self.notifier.stop_progress()
        try:
            self.stop_traffic_quietly()
            self._journal_messages()
        finally:
            try:
                if self.faults.active:
                    self.faults.revert_all()
            finally:
                self.target.close()
                self.journal.write("drill_finished", durable=True, status=status)
                self.journal.close()
