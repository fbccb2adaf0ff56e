"""What a drill does after its run, at scale: the measurement (reading the request log, the
user-facing RTO and each store's RPO, the traffic series) and every report (result.json,
report.md, report.html, the reports' index.html).
Targets: under 60 s and under 1 GiB peak memory for 10,000,000 requests and 200,000 canary writes.

Usage: python bench/report.py [--requests 100000] [--canaries 10000] [--seconds 600] [--tracemalloc]
       python bench/report.py --requests 10000000 --canaries 200000      (the target's size)

First, not timed: a synthetic drill folder made by the drill's own writers (a ``Drill`` on a target
that makes no call writes drill_started and target_ready; its ``Journal`` the rest; canary records in
``CanaryWriter``'s fields; the request log gzip, one member per flush, in the locustfile's format,
written by a child process so its memory is not counted), with an outage in the middle and recovery
served by the DR region. Then, timed: ``drill.engine.api.measure`` (as the failover scenario calls it:
``measure_rto`` following the log then reading it whole, ``measure_rpo``), ``Drill.close`` and
``drill.report.build.render``. Memory: ru_maxrss of this process (after generation, and peak);
``--tracemalloc`` adds Python's own peak per stage (slower).
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drill.core.config import load_config  # noqa: E402
from drill.core.measure import Write, time_series  # noqa: E402
from drill.engine.api import measure  # noqa: E402
from drill.engine.drill import Drill  # noqa: E402
from drill.engine.traffic import Traffic  # noqa: E402
from drill.report.build import render  # noqa: E402
from drill.targets.base import Target  # noqa: E402
from drill.traffic.canary import CanaryWriter, classify_aws, classify_mysql  # noqa: E402
from drill.traffic.locust import LoadRunner, LogReader, follow, records  # noqa: E402

FLUSH_S = 0.25  # the locustfile flushes its records every 0.25 s: one gzip member each
DELAYS = {"rds": 0.0, "dynamodb": 0.5, "s3": 2.0}  # replication delay of each synthetic store
ACK_S = {"rds": 0.003, "dynamodb": 0.005, "s3": 0.012}


class SyntheticTarget(Target):
    """A target that makes no call: the drill's folder is all this bench needs of it."""

    name = "synthetic"


class SyntheticStore:
    """A store whose DR copy holds every write acknowledged a replication delay before the fault."""

    def __init__(self, name: str, surviving: set[int]):
        self.name, self.ordered, self._surviving = name, name == "rds", surviving
        self.deletes_replicate = name != "s3"

    def prepare(self) -> None: ...
    def write(self, seq: int, role: str) -> None: ...
    def delete_all(self, role: str) -> set[int]: return set()

    def surviving(self, role: str) -> set[int]:
        return self._surviving


def write_log(path: str, n: int, t0: float, seconds: float, outage: tuple[float, float],
              regions: tuple[str, str], requests: list[tuple[str, str, int]]) -> None:
    """``n`` requests over ``seconds``, in the locustfile's format, written as the master writes them."""
    rnd = random.Random(1)
    names = [(m, name) for m, name, _ in requests]
    weights = [w for _, _, w in requests]
    primary, dr = regions
    per_flush = max(1, round(n / seconds * FLUSH_S))
    with open(path, "wb") as fh:
        for start in range(0, n, per_flush):
            batch = []
            for i in range(start, min(n, start + per_flush)):
                t = t0 + seconds * i / n + rnd.random() * 0.01
                method, name = rnd.choices(names, weights)[0]
                lat = 2.0 + rnd.random() * 10.0
                if t < outage[0]:
                    status, region, ok, addr = 201 if method == "POST" else 200, primary, 1, "127.77.1.10"
                elif t < outage[1]:
                    status, region, ok, addr = 0, primary, 0, "127.77.1.10"
                else:
                    status, region, ok, addr = 201 if method == "POST" else 200, dr, 1, "127.77.2.10"
                batch.append((t + lat / 1000, f"{t:.6f},{method},{name},{status},{lat:.2f},{region},{ok},{addr}\n"))
            batch.sort()  # completion order, as locust logs them
            fh.write(gzip.compress("".join(line for _, line in batch).encode(), compresslevel=3))


def generate(args: argparse.Namespace, root: Path) -> tuple[Drill, dict[str, Any]]:
    loaded = load_config(profile="sandbox")
    cfg = loaded.config
    primary, dr = cfg.side("primary").region, cfg.side("dr").region
    t0 = time.time() - args.seconds - 60  # a drill that has just finished
    fault = t0 + args.seconds / 3
    cut = fault + 0.4  # the fault in effect: replication stops, the primary's database unreachable
    first_fail, recovered = fault + 0.5, fault + 0.5 + min(60.0, args.seconds / 10)
    reqs = [(r.method, r.name, r.weight) for r in cfg.load.requests]
    log_dir = root / "20260101T000000Z-quarterly-bench" / "load"
    log_dir.mkdir(parents=True)
    child = multiprocessing.get_context("fork").Process(target=write_log, args=(
        str(log_dir / "requests.csv.gz"), args.requests, t0, args.seconds, (first_fail, recovered), (primary, dr), reqs))
    child.start()
    d = Drill(loaded, "sandbox", "quarterly", root, drill_id=log_dir.parent.name, target=SyntheticTarget(loaded))
    j = d.journal
    nodeid = "scenarios/test_features.py::test_failover_under_load"
    j.write("scenario_started", at=t0 - 5, nodeid=nodeid, name="Failover under load (synthetic)",
            feature="bench", feature_file="features/quarterly/failover.feature", tags=["quarterly", "checklist_2"])
    j.write("load_started", durable=True, at=t0 - 1, pids=[child.pid])
    j.write("traffic_started", at=t0, users=cfg.load.users, user_rps=cfg.load.user_rps, workers=0,
            external_workers=0, canary_rates_per_s={s: args.canaries / args.seconds / 3 for s in DELAYS})
    region_of = lambda role: cfg.side(role).region  # noqa: E731
    writers = {s: CanaryWriter(s, args.canaries / args.seconds / 3, j, lambda seq, role: None,
                               classify_mysql if s == "rds" else classify_aws, "primary", region_of) for s in DELAYS}
    surviving: dict[str, set[int]] = {s: set() for s in DELAYS}
    for i in range(args.canaries):
        store = list(DELAYS)[i % 3]
        seq, started = i // 3 + 1, t0 + args.seconds * i / args.canaries
        ack: float | None = started + ACK_S[store]
        outcome = "ok"
        if started >= cut and store == "rds":  # its connection cut: unknown, as the writer classifies it
            ack, outcome = None, "indeterminate"
        w = Write(store, seq, started, ack, outcome, primary)
        writers[store].writes.append(w)
        if ack is not None and ack <= cut - DELAYS[store]:
            surviving[store].add(seq)
        j.write("canary", store=store, seq=seq, started=round(started, 6), ack=round(ack, 6) if ack else None,
                outcome=outcome, region=primary, role="primary", error=None if ack else "OperationalError: (2013)")
    j.write("canaries_replicated", at=t0 + 3, after_s=2.5)
    undo = {"name": "region_outage", "params": {"role": "primary", "region": primary}}
    j.write("fault_planned", at=fault - 0.5, fault_id="region_outage-1", name="region_outage",
            params={"role": "primary"}, undo=undo, target="sandbox", heals="synthetic")
    j.write("fault_injected", at=cut, fault_id="region_outage-1", name="region_outage", details={})
    d.marks["fault"] = j.write("mark", at=fault, name="fault", fault="region_outage")["t"]
    d.marks["fault_in_effect"] = j.write("mark", at=cut, name="fault_in_effect")["t"]
    span = recovered - fault
    steps = [("detection", 0.0, 0.05, True, "detected"), ("declaration", 0.05, 0.45, False, "declared"),
             ("promotion", 0.45, 0.6, True, "promoted"), ("dns", 0.6, 0.8, True, "dns_switched"),
             ("scale_up", 0.8, 0.95, True, None), ("verification", 0.95, 1.0, True, "verified")]
    for name, a, b, measured, mark in steps:
        j.write("phase", at=fault + b * span, name=name, started_at=fault + a * span,
                finished_at=fault + b * span, measured=measured, status="ok", detail="")
        if mark:
            d.marks[mark] = j.write("mark", at=fault + b * span, name=mark)["t"]
    traffic = Traffic.__new__(Traffic)  # the drill's traffic, its parts already run: stores, writers, log
    traffic.drill, traffic.writers = d, writers
    traffic.stores = {s: SyntheticStore(s, surviving[s]) for s in DELAYS}
    traffic.load = LoadRunner(cfg, log_dir, {})
    traffic.workers, traffic.problems = {}, []  # no load workers in a cluster (load.mode local)
    d.traffic = traffic
    child.join()
    assert child.exitcode == 0, "the request log's writer failed"
    return d, {"rto_s": recovered - first_fail, "rpo": DELAYS}


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PROBES = ("LogReader.lines", "records", "time_series(records)", "follow")


def probe(name: str, log: Path, fault: float) -> None:
    """One function of the measurement over the whole log, in a fresh interpreter: time, memory."""
    base, start = rss_mib(), time.perf_counter()
    if name == "LogReader.lines":
        sum(1 for _ in LogReader(log).lines())
    elif name == "records":
        sum(1 for _ in records(log))
    elif name == "time_series(records)":
        time_series(r.req() for r in records(log))
    else:  # as measure_rto reads it once the failover is done: the log so far read in one poll
        sum(1 for _ in follow(log, lambda: False, 0, lambda: None))
    print(f"  {name:46} {time.perf_counter() - start:7.2f} s   RSS +{rss_mib() - base:5.0f} MiB", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--canaries", type=int, default=10_000, help="canary writes, over the three stores")
    ap.add_argument("--seconds", type=float, default=600.0, help="the drill's traffic lasts this long")
    ap.add_argument("--tracemalloc", action="store_true", help="also Python's own peak per stage (slower)")
    ap.add_argument("--breakdown", action="store_true", help="first, each function that reads the whole log "
                    "alone, in a fresh interpreter: its time and memory growth")
    ap.add_argument("--keep", action="store_true", help="keep the drill folder (printed)")
    ap.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        return probe(args.probe[0], Path(args.probe[1]), float(args.probe[2]))
    root = Path(tempfile.mkdtemp(prefix="drill-report-bench-"))
    start = time.perf_counter()
    d, expect = generate(args, root)
    log = d.dir / "load" / "requests.csv.gz"
    print(f"generated in {time.perf_counter() - start:.1f} s: {args.requests:,} requests over {args.seconds:.0f} s "
          f"(log {log.stat().st_size / 2**20:.1f} MiB gzip), {args.canaries:,} canary writes "
          f"(journal {(d.dir / 'journal.jsonl').stat().st_size / 2**20:.1f} MiB); RSS so far {rss_mib():.0f} MiB")
    if args.breakdown:
        print("each alone, over the whole log:")
        for name in PROBES:
            subprocess.run([sys.executable, __file__, "--probe", name, str(log), str(d.marks["fault"])], check=True)
    if args.tracemalloc:
        tracemalloc.start()
    stages: list[tuple[str, float, float, float]] = []
    t = start = time.perf_counter()
    for name, step in (("measure (RTO from the log, series, RPO)", lambda: measure(d)),
                       ("close (drill_finished)", lambda: d.close("finished")),
                       ("render (result.json, report.md/.html, index)", lambda: render(d.dir))):
        step()
        now = time.perf_counter()
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else float("nan")
        stages.append((name, now - t, rss_mib(), peak))
        if args.tracemalloc:
            tracemalloc.reset_peak()
        t = now
    total = time.perf_counter() - start
    for name, secs, rss, peak in stages:
        print(f"  {name:46} {secs:7.2f} s   max RSS {rss:6.0f} MiB" + (f"   traced peak {peak:6.0f} MiB"
                                                                          if args.tracemalloc else ""))
    peak_rss = rss_mib()
    print(f"after the run: {total:.2f} s (target < 60 s: {'ok' if total < 60 else 'MISSED'}; includes 0.5 s of "
          f"fixed sleep in measure_rto); peak RSS {peak_rss:.0f} MiB (target < 1024 MiB: "
          f"{'ok' if peak_rss < 1024 else 'MISSED'})")
    r = d.results
    assert r.rto is not None
    print(f"RTO measured {r.rto.rto.rto_s} s (synthetic {expect['rto_s']:.3f} s); RPO " + ", ".join(
        f"{s} {v.loss.rpo_s} s (synthetic ~{expect['rpo'][s]:g} s)" for s, v in r.rpo.items())
        + f"; one store's canary interval {3 * args.seconds / args.canaries:.3f} s")
    sizes = ", ".join(f"{f} {(d.dir / f).stat().st_size / 1e3:.0f} kB" for f in ("result.json", "report.md", "report.html"))
    print(f"files: {sizes}; index.html {(root / 'index.html').stat().st_size / 1e3:.0f} kB"
          + (f"; kept in {d.dir}" if args.keep else ""))
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
