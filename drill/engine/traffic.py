"""A drill's traffic: canary writers to every store and locust's users, started and stopped together."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from drill.core.errors import ActionFailed
from drill.core.schema import ROLES
from drill.core.waits import wait_until
from drill.ops import load_workers
from drill.traffic.canary import CanaryWriter, classify_aws, classify_mysql
from drill.traffic.locust import LoadRunner, profile_env
from drill.traffic.stores import Store, stores

if TYPE_CHECKING:
    from drill.engine.drill import Drill


class Traffic:
    def __init__(self, drill: Drill, role: str = "primary"):
        self.drill = drill
        self.stores: dict[str, Store] = stores(drill.target, drill.drill_id)
        rate = drill.cfg.measure.canary_rate
        region_of = lambda r: drill.cfg.side(r).region  # noqa: E731
        self.writers = {name: CanaryWriter(name, rate(name), drill.journal, store.write,
                                           classify_mysql if name == "rds" else classify_aws, role, region_of,
                                           first_seq=drill.canary_seq + 1)
                        for name, store in self.stores.items()}
        self.load: LoadRunner | None = None
        self.workers: dict[str, Any] = {}  # the workers' Deployment as far as it was made (load.mode kubernetes)
        self.problems: list[str] = []  # what stopping could not undo

    def prepare(self) -> None:
        for store in self.stores.values():
            store.prepare()

    def start_canaries(self) -> None:
        for w in self.writers.values():
            w.start()

    def start_load(self, max_run_s: float = 3600) -> None:
        d = self.drill
        albs: dict[str, list[str]] = {}
        for role in ROLES:
            region = d.cfg.side(role).region
            elb = d.target.client("elbv2", region)
            albs[region] = [lb["DNSName"] for page in elb.get_paginator("describe_load_balancers").paginate()
                            for lb in page["LoadBalancers"]]
        profile = profile_env(d.cfg, d.target.endpoints().resolver, albs)
        self.load = LoadRunner(d.cfg, d.dir / "load", profile, max_run_s=max_run_s)
        self.load.start()
        d.journal.write("load_started", durable=True, pids=[p.pid for p in self.load.procs])
        where = "see load/locust.out"
        if d.cfg.load.mode == "kubernetes":
            load_workers.deploy(d.target, d.journal, d.drill_id, self.load.master_port, profile, self.workers)
            where = f"the pods of deployment {self.workers['deployment']}, and load/locust.out"
        if not self.load.wait_for_traffic(d.cfg.measure.action_deadline_s if self.workers else 30):
            raise ActionFailed(f"locust produced no requests within the deadline ({where})")

    def retarget(self, role: str) -> None:
        for w in self.writers.values():
            w.retarget(role)

    def stop_canaries(self) -> None:
        for w in self.writers.values():
            w.stop()
        self.drill.canary_seq = max([self.drill.canary_seq] + [w.last_seq for w in self.writers.values()])

    def stop(self) -> None:
        running = any(w.running for w in self.writers.values()) or (self.load is not None and self.load.running)
        self.stop_canaries()
        if self.load is not None:
            self.load.stop()
        if self.workers:
            d, w = self.drill, self.workers
            self.workers = {}
            try:
                load_workers.remove(d.target, d.journal, d.drill_id, w["namespace"], w["deployment"],
                                    w["namespace_created"], d.cfg.measure.action_deadline_s, d.cfg.measure.probe_interval_s)
            except Exception as exc:  # never in the way of undoing the faults; drill rollback retries it
                problem = f"load workers {w['deployment']} not removed: {type(exc).__name__}: {exc}"[:300]
                d.journal.write("load_workers_remove_failed", durable=True, error=problem)
                self.problems.append(problem)
        if running:
            self.drill.journal.write("traffic_stopped")


def apply_twin_settings(drill: Drill) -> None:
    """Where a twin stands behind the target, the replication delays of this drill's config (the
    twin may have been started with others): network conditions only a twin has."""
    twin = drill.target.twin
    if twin is None:
        return
    sb = drill.cfg.sandbox
    twin.set_replication("rds", delay_s=sb.rds.replication_delay_s)
    status = twin.replication()
    for store, conf in (("dynamodb", sb.dynamodb), ("s3", sb.s3)):
        if "replicated_by" not in status[store]:  # a worker LocalStack stands for has no delay here
            twin.set_replication(store, delay_s=conf.replication_delay_s)


MIN_HISTORY_S = 3.0  # steady writes before any fault, at least


def wait_replicated(drill: Drill, traffic: Traffic) -> float:
    """Before any fault, every store's DR copy must hold a canary write of this drill: replication
    seen end to end, whatever its delay, so a loss window has a surviving write to start from.
    Returns how long it took (the replication delay as observed, journaled)."""
    started = time.monotonic()
    pending = set(traffic.stores)

    def replicated() -> bool:
        for name in list(pending):  # a write of this traffic (not a row an earlier scenario left)
            first = traffic.writers[name].first_seq
            if any(seq >= first for seq in traffic.stores[name].surviving("dr")):
                pending.discard(name)
        return not pending

    try:
        wait_until(replicated, drill.cfg.measure.action_deadline_s, "a canary write of every store in DR",
                   drill.interval)
    except ActionFailed as exc:
        raise ActionFailed(f"{exc} (still none in DR: {', '.join(sorted(pending))}): replication is not "
                           "delivering, the drill cannot measure data loss") from None
    took = time.monotonic() - started
    time.sleep(max(0.0, MIN_HISTORY_S - took))
    return took


def start_traffic(drill: Drill) -> Traffic:
    traffic = Traffic(drill)
    traffic.prepare()
    drill.traffic = traffic
    traffic.start_load()
    traffic.start_canaries()
    lc = drill.cfg.load
    drill.journal.write("traffic_started", users=lc.users, user_rps=lc.user_rps, workers=lc.workers,
                        external_workers=lc.external_workers,
                        canary_rates_per_s={name: w.rate for name, w in traffic.writers.items()})
    took = wait_replicated(drill, traffic)
    drill.replication_s = took
    drill.journal.write("canaries_replicated", after_s=round(took, 3))
    return traffic
