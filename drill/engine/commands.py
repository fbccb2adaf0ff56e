"""``drill failback``: return the target to the primary region by the policy's failback procedure,
from wherever an interrupted run left it (the command a run's exit line names when runbook changes
remain). It runs as a drill of its own: lease, signals, journal, report."""

from __future__ import annotations

from pathlib import Path

from drill.core.config import LoadedConfig
from drill.core.paths import REPORTS_DIR
from drill.engine.drill import Drill
from drill.engine.failback import fail_back, runbook_state
from drill.engine.session import Session
from drill.engine.steady import wait_steady
from drill.targets.factory import make_target


def run_failback(loaded: LoadedConfig, target_name: str, reports_dir: str | None, confirm: str | None) -> int:
    from drill.report.build import render

    target = make_target(target_name, loaded, start_sandbox=False, confirm=confirm, destructive=True)
    before = runbook_state(target).remaining()
    if not before:
        print(f"drill failback: nothing to return on {target_name} (the primary region serves, DR is standby)")
        target.close()
        return 0
    drill = Drill(loaded, target_name, "failback", Path(reports_dir) if reports_dir else REPORTS_DIR, target=target)
    session = Session(drill, watch=False, confirm=confirm)
    ok = False
    try:
        with session:
            fail_back(drill, stabilize=True)
            ok = wait_steady(drill, drill.deadline).ok and not runbook_state(target).remaining()
    except KeyboardInterrupt:
        pass
    result = render(drill.dir)
    print(f"drill failback: {'done' if ok else 'NOT done'} ({'; '.join(before)} -> "
          f"{'; '.join(session.remaining) or 'primary serving, DR standby'}); report: {drill.dir / 'report.html'}")
    if session.signalled:
        return 130
    return 0 if ok and result["verdict"] != "incomplete" else 1
