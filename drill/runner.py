"""``drill run``: run a cadence's scenarios through pytest-bdd, then render the report.

pytest runs in this process with a plugin ("drill-run") that hands the scenarios one Drill
(one journal for the run) and journals each scenario's outcome. Locust runs in its own
process. Whatever happens (failure, exception, SIGINT, SIGTERM) faults are undone, the
target is restored, and the report is written from the journal.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from drill.config import REPO_ROOT, LoadedConfig
from drill.engine import Drill
from drill.errors import InvalidInput

CADENCES = {"monthly": "monthly", "quarterly": "quarterly", "weekly": "weekly",
            "all": "monthly or quarterly or weekly"}


class DrillRunPlugin:
    is_drill_run = True  # how conftest.py finds the run's Drill

    def __init__(self, drill: Drill):
        self.drill = drill
        self.outcomes: dict[str, dict[str, Any]] = {}

    def pytest_bdd_before_scenario(self, request: Any, feature: Any, scenario: Any) -> None:
        info = {"nodeid": request.node.nodeid, "name": scenario.name, "feature": feature.name,
                "feature_file": str(Path(feature.filename).relative_to(REPO_ROOT)),
                "tags": sorted(scenario.tags | feature.tags)}
        self.outcomes[request.node.nodeid] = {**info, "status": "passed", "error": None}
        self.drill.journal.write("scenario_started", **info)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
        outcome = yield
        report = outcome.get_result()
        entry = self.outcomes.get(item.nodeid)
        if entry is None:
            return
        if report.failed and entry["status"] != "failed":
            entry["status"] = "failed" if report.when == "call" else "error"
            text = str(report.longrepr.reprcrash.message) if hasattr(report.longrepr, "reprcrash") else str(
                report.longrepr)
            entry["error"] = f"{report.when}: {text}"[:500]
        elif report.skipped and report.when != "teardown":
            entry["status"] = "skipped"

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        entry = self.outcomes.get(nodeid)
        if entry is not None:
            self.drill.journal.write("scenario_finished", **entry)


_signalled: list[int] = []


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    _signalled.append(signum)
    raise KeyboardInterrupt(f"signal {signum}")


def run_drill(loaded: LoadedConfig, target: str = "sandbox", cadence: str = "quarterly",
              reports_dir: str | None = None, select: str | None = None, lang: str = "en",
              confirm: str | None = None) -> int:
    from drill.report import render

    if cadence not in CADENCES:
        raise InvalidInput(f"--cadence {cadence}: unknown (known: {', '.join(CADENCES)})")
    target_options: dict[str, Any] = {}
    if target == "aws":  # the account, --confirm and the plan, before anything is written or changed
        from drill.plan import preflight

        checked = preflight(loaded, target, cadence, confirm, select)
        target_options = {"confirm": confirm, "destructive": bool(checked.get("destructive"))}
    reports = Path(reports_dir) if reports_dir else REPO_ROOT / "reports"
    started = time.monotonic()
    drill = Drill(loaded, target, cadence, reports, lang=lang, target_options=target_options)
    plugin = DrillRunPlugin(drill)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    interrupted = False
    failure: BaseException | None = None
    args = ["-q", "--no-header", "-p", "no:cacheprovider", "--strict-markers", "-m", CADENCES[cadence],
            "--rootdir", str(REPO_ROOT), "-o", "testpaths=", "-o", "console_output_style=classic",
            f"--junitxml={drill.dir / 'junit.xml'}", f"--cucumberjson={drill.dir / 'cucumber.json'}",
            str(REPO_ROOT / "scenarios")]
    if select:
        args += ["-k", select]
    from drill.progress import Progress
    from drill.stop import Watchdog

    watchdog = Watchdog(drill)
    watchdog.start()
    progress = Progress(drill)
    progress.start()
    _signalled.clear()
    try:
        code = pytest.main(args, plugins=[plugin])
        # a signal can land anywhere, even inside the interpreter's compiler (SystemError): a
        # received signal means interrupted, whatever pytest made of it
        interrupted = code == pytest.ExitCode.INTERRUPTED or bool(_signalled)
        drill.journal.write("pytest_finished", exit_code=int(code), signals=list(_signalled))
    except BaseException as exc:  # rollback runs all the same (finally); a bug is re-raised after it
        interrupted = isinstance(exc, KeyboardInterrupt) or bool(_signalled)
        if not interrupted:
            failure = exc
    finally:
        # rollback must finish: a second Ctrl-C or SIGTERM waits (SIGKILL leaves `drill rollback`)
        watchdog.stop()
        progress.stop()
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if drill.faults.active or "fault" in drill.marks:
                drill.restore()
        finally:
            drill.close("stopped" if watchdog.tripped else "interrupted" if interrupted else "finished")
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)
    result = render(drill.dir, lang)
    if failure is not None:
        raise failure
    elapsed = time.monotonic() - started
    out = sys.stdout
    print(f"drill {drill.drill_id}: {result['verdict'].upper()} in {elapsed:.0f} s "
          f"({sum(1 for s in result['scenarios'] if s['status'] == 'passed')}/{len(result['scenarios'])} "
          f"scenarios passed)", file=out)
    for line in result.get("summary_lines", []):
        print(f"  {line}", file=out)
    print(f"  files: {drill.dir}/{{report.md,result.json,junit.xml,cucumber.json,journal.jsonl}}; "
          f"all drills: {reports / 'index.html'}", file=out)
    print(f"report: {drill.dir / 'report.html'}", file=out)
    if watchdog.tripped:
        return 1
    if interrupted:
        return 130
    return 0 if result["verdict"] == "pass" else 1
