"""``drill run``: run a cadence's scenarios through pytest-bdd, then render the report.

Before anything changes: pytest collects the scenarios (``-m`` cadence, ``-k`` selection, the
config's switchover mode), and what it collected decides whether the run changes the target
(any scenario tagged with the destructive tag) and so whether ``--confirm <account>`` is needed
where the target requires it; each scenario is checked again before it starts. pytest then runs
in this process with a plugin that hands the scenarios one Drill (one journal) and journals each
scenario's outcome; locust runs in its own process. Whatever happens, the session restores the
target and the report is written from the journal. pytest's own output goes to the drill's folder.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput
from drill.core.paths import REPO_ROOT, REPORTS_DIR
from drill.engine.drill import Drill
from drill.engine.progress import Progress
from drill.engine.session import Session
from drill.faults.registry import get as get_fault
from drill.ops import eks
from drill.plan.catalogue import all_calls, collect, drill_config_env, fresh_scenarios, pytest_args
from drill.targets.base import Target
from drill.targets.factory import make_target


class DrillRunPlugin:
    is_drill_run = True  # how conftest.py finds the run's Drill

    def __init__(self, drill: Drill, allowed: set[str]):
        self.drill = drill
        self.allowed = allowed  # the node ids collected (and confirmed) before the run
        self.outcomes: dict[str, dict[str, Any]] = {}

    def pytest_bdd_before_scenario(self, request: Any, feature: Any, scenario: Any) -> None:
        tags = sorted(scenario.tags | feature.tags)
        if request.node.nodeid not in self.allowed:  # the guard again, per scenario, before it starts
            pytest.exit(f"scenario {scenario.name!r} was not in the confirmed selection", returncode=2)
        info = {"nodeid": request.node.nodeid, "name": scenario.name, "feature": feature.name,
                "feature_file": str(Path(feature.filename).relative_to(REPO_ROOT)) if str(feature.filename).startswith(
                    str(REPO_ROOT)) else feature.filename, "tags": tags}
        self.outcomes[request.node.nodeid] = {**info, "status": "passed", "error": None, "step": None}
        self.drill.journal.write("scenario_started", **info)
        self.drill.current_scenario, self.drill.current_step = scenario.name, None

    def pytest_bdd_before_step(self, request: Any, feature: Any, scenario: Any, step: Any, step_func: Any) -> None:
        self.drill.current_step = f"{step.keyword} {step.name}"

    def pytest_bdd_step_error(self, request: Any, feature: Any, scenario: Any, step: Any, step_func: Any,
                              step_func_args: Any, exception: BaseException) -> None:
        entry = self.outcomes.get(request.node.nodeid)
        if entry is not None and entry["step"] is None:
            entry["step"] = f"{step.keyword} {step.name}"
            entry["error"] = f"{type(exception).__name__}: {exception}"[:600]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
        outcome = yield
        report = outcome.get_result()
        entry = self.outcomes.get(item.nodeid)
        if entry is None:
            return
        if report.failed and entry["status"] == "passed":
            entry["status"] = "failed" if report.when == "call" else "error"
            if entry["error"] is None:
                crash = getattr(report.longrepr, "reprcrash", None)
                entry["error"] = f"{report.when}: {crash.message if crash else report.longrepr}"[:600]
        elif report.skipped and report.when != "teardown":
            entry["status"] = "skipped"

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        entry = self.outcomes.get(nodeid)
        if entry is not None:
            self.drill.journal.write("scenario_finished", **entry)


def preflight(loaded: LoadedConfig, target_name: str, cadence: str, select: str | None, confirm: str | None,
              posture: str | None = None, progress: Progress | None = None) -> tuple[Target, set[str]]:
    """What pytest will run, and the guardrails for it; the target made (or refused) before any change."""
    scenarios = collect(loaded, cadence, select)
    if not scenarios:
        raise InvalidInput(f"no scenario of cadence {cadence}" + (f" matches -k {select!r}" if select else ""))
    destructive = any(loaded.config.aws.destructive_tag in sc.tags for sc in scenarios)
    if progress is not None:
        progress.stage = f"{len(scenarios)} scenarios collected; reaching the target"
    target = make_target(target_name, loaded, posture=posture, confirm=confirm, destructive=destructive,
                         on_startup_step=progress.startup_step if progress is not None else None)
    from drill.plan.catalogue import build

    plan = build(loaded, cadence, target_name, target.capabilities, None, select, scenarios)
    if plan["unavailable"]:
        target.close()
        raise InvalidInput(f"--target {target_name}: cannot run {len(plan['unavailable'])} step(s): "
                           + "; ".join(plan["unavailable"][:3]) + " (drill plan shows them)")
    try:
        ready_before_changes(target, plan, progress)
    except BaseException:
        target.close()
        raise
    return target, {sc.nodeid for sc in scenarios}


def ready_before_changes(target: Target, plan: dict[str, Any], progress: Progress | None) -> None:
    """Before the drill changes anything (read-only): what each fault acts on exists, and the
    clusters' Kubernetes clients load from the kubeconfig. Bad input then ends the drill here (one
    line, exit 2, nothing mutated), and neither a VPC lookup nor the AWS services' models, the
    Kubernetes client's import (1.5 s, 33 MB) and the models its answers need (about 30 MB) land
    inside a measured phase (the fault, the scale-up of the failover)."""
    faults = sorted({st["fault"] for sc in plan["scenarios"] for st in sc["steps"] if st.get("fault")})
    if progress is not None and faults:
        progress.stage = f"checking what {', '.join(faults)} act on"
    for name in faults:
        get_fault(name).preflight(target)
    # a client for each AWS service and region the plan calls: each service's model (1 to 25 MB) is
    # read now, once for the process, not by the first call that needs it inside a measured phase
    for service, region in sorted({(c["service"], c["region"]) for c in all_calls(plan) if c["kind"] == "aws"}):
        target.client(service, region)
    if any(c["kind"] == "kubernetes" for c in all_calls(plan)):
        for role in ("primary", "dr"):
            cluster = target.cfg.side(role).cluster.cluster
            try:
                target.kube(role)
            except Exception as exc:
                raise InvalidInput(f"Kubernetes: no client for the {role} cluster {cluster} from the kubeconfig "
                                   f"({type(exc).__name__}: {str(exc)[:200]})") from exc
        eks.load_models()


def run_drill(loaded: LoadedConfig, target: str = "sandbox", cadence: str = "quarterly", reports_dir: str | None = None,
              select: str | None = None, lang: str = "en", confirm: str | None = None, verbose: bool = False) -> int:
    from drill.report.build import render

    reports = Path(reports_dir) if reports_dir else REPORTS_DIR
    started = time.monotonic()
    progress = Progress(stage="collecting the scenarios")  # a status from the first second
    progress.start()
    try:
        made, allowed = preflight(loaded, target, cadence, select, confirm, progress=progress)
        drill = Drill(loaded, target, cadence, reports, lang=lang, target=made)
    except BaseException:
        progress.stop(discard=True)
        raise
    progress.attach(drill)
    plugin = DrillRunPlugin(drill, allowed)
    args = ["-q", "--no-header", "-o", "console_output_style=classic", f"--junitxml={drill.dir / 'junit.xml'}",
            f"--cucumberjson={drill.dir / 'cucumber.json'}", *pytest_args(cadence, select)]
    session = Session(drill, progress=progress, confirm=confirm, keep_progress=True)
    code: int | pytest.ExitCode = pytest.ExitCode.INTERRUPTED
    try:
        with session, drill_config_env(loaded):
            log = sys.stdout if verbose else open(drill.dir / "pytest.log", "w", encoding="utf-8")
            fresh_scenarios()
            with contextlib.redirect_stdout(log):  # pytest's own output: the drill's folder unless -v
                code = pytest.main(args, plugins=[plugin])
            drill.journal.write("pytest_finished", exit_code=int(code), signals=list(session.signalled))
    except KeyboardInterrupt:
        pass
    except BaseException:
        progress.stop()  # the session could not start (a lease refused), or failed: its error follows
        raise
    progress.stage = "writing the reports"  # the status stays up until the summary replaces it
    try:
        result = render(drill.dir, lang)
        published = publish_history(drill)
    finally:
        progress.stop()
    print_summary(drill, result, time.monotonic() - started, reports, session.remaining, target, confirm)
    if published:
        print(f"  published: {published}")
    if session.stopped_by:
        return 1
    if session.signalled or code == pytest.ExitCode.INTERRUPTED:
        return 130
    if code == pytest.ExitCode.USAGE_ERROR or int(code) == 2 and not result["scenarios"]:
        return 2
    return 0 if result["verdict"] == "pass" else 1


def print_summary(drill: Drill, result: dict[str, Any], elapsed: float, reports: Path, remaining: list[str],
                  target: str, confirm: str | None) -> None:
    out = sys.stdout
    passed = sum(1 for s in result["scenarios"] if s["status"] == "passed")
    print(f"drill {drill.drill_id}: {result['verdict'].upper()} in {elapsed:.0f} s "
          f"({passed}/{len(result['scenarios'])} scenarios passed)", file=out)
    for line in result.get("summary_lines", []):
        print(f"  {line}", file=out)
    if remaining:
        cmd = drill.loaded.command("failback", target, confirm)
        print(f"  runbook changes still in place: {'; '.join(remaining)}; return them with: {cmd}", file=out)
    print(f"  files: {drill.dir}/{{report.md,result.json,junit.xml,cucumber.json,journal.jsonl}}; "
          f"all drills: {reports / 'index.html'}", file=out)
    print(f"report: {drill.dir / 'report.html'}", file=out)


def publish_history(drill: Drill) -> str | None:
    """The finished drill's reports to the configured S3 history, and the index from there; the
    upload's calls journaled like any other (appended after the drill's end)."""
    from drill.core.journal import Journal
    from drill.report import history

    loc = history.where(drill.cfg)
    if loc is None:
        return None
    journal = Journal(drill.dir / "journal.jsonl", drill.journal.redactor)

    def failed(why: str) -> None:  # the drill's verdict stands; the history is not there
        journal.write("history_failed", durable=True, error=why[:300])
        print(f"  history NOT published to s3://{loc[0]}/{loc[1]}: {why}"[:300])

    if drill.started_twin:  # its S3 is gone with it: nothing there would outlive the drill
        failed("this run started the twin and stopped it at the end; start one that outlives drills: drill sandbox up")
        journal.close()
        return None
    calls = Journal(drill.dir / "calls.jsonl", drill.journal.redactor)
    drill.target.journal, drill.target.calls = journal, calls
    try:
        s3 = drill.target.client("s3", loc[2])
        keys = history.publish(s3, drill.cfg, drill.dir)
        history.render_index(s3, drill.cfg, drill.dir.parent)
        journal.write("history_published", durable=True, bucket=loc[0], prefix=loc[1], files=len(keys))
        return f"s3://{loc[0]}/{loc[1]}{drill.dir.name}/"
    except Exception as exc:
        failed(f"{type(exc).__name__}: {exc}")
        return None
    finally:
        journal.close()
        calls.close()
