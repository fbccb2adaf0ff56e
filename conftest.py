"""Fixtures shared by the tests and the features: the sandbox twin and the drill context.

Under ``drill run`` the runner's plugin ("drill-run") provides the Drill (one journal for the
whole run). Under plain pytest, one Drill is made per session against a sandbox that the
session starts in its own runtime directory and stops at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent
pytest_plugins = ["steps.drill_steps"]


def pytest_configure(config: pytest.Config) -> None:
    """Tags that trace a scenario to the policy come from the policy file itself: @checklist_<id>
    for each checklist item and @<key> for each regular test. Any other tag fails --strict-markers."""
    from drill.config import load_config

    cfg = load_config().config
    for item in cfg.checklist:
        config.addinivalue_line("markers", f"checklist_{item.id}: checklist item {item.id}: {item.en} [{item.ko}]")
    for test in cfg.regular_tests:
        config.addinivalue_line("markers", f"{test.key}: regular test ({test.cadence}): {test.content}")


def run_drill_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
                  check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    res = subprocess.run([sys.executable, "-m", "drill.cli", *args], capture_output=True, text=True,
                         cwd=REPO, env=full_env, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"drill {' '.join(args)} -> {res.returncode}\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture(scope="session")
def sandbox_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A sandbox twin for this session, in its own runtime dir (never the user's own one)."""
    rundir = tmp_path_factory.mktemp("sandbox") / "run"
    env = {"DRILL_RUNTIME_DIR": str(rundir)}
    previous = os.environ.get("DRILL_RUNTIME_DIR")
    os.environ["DRILL_RUNTIME_DIR"] = str(rundir)
    run_drill_cli("sandbox", "up", env=env, check=True, timeout=180)
    yield env
    run_drill_cli("sandbox", "down", env=env, check=True)
    if previous is None:
        os.environ.pop("DRILL_RUNTIME_DIR", None)
    else:
        os.environ["DRILL_RUNTIME_DIR"] = previous
    assert not rundir.exists(), "sandbox down left its runtime directory behind"


@pytest.fixture(scope="session")
def drill_session(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    plugin = next((p for p in request.config.pluginmanager.get_plugins() if getattr(p, "is_drill_run", False)),
                  None)
    if plugin is not None:
        yield plugin.drill
        return
    from drill.config import load_config
    from drill.engine import Drill

    request.getfixturevalue("sandbox_env")
    d = Drill(load_config(profile="sandbox"), "sandbox", "pytest", reports_dir=tmp_path_factory.mktemp("reports"))
    yield d
    d.close()


@pytest.fixture
def drill(drill_session: Any) -> Iterator[Any]:
    """The drill, restored to steady state after each scenario (faults undone, twin reset)."""
    yield drill_session
    if drill_session.faults.active or "fault" in drill_session.marks:
        result = drill_session.restore()
        drill_session.marks.clear()
        assert result["ok"], f"rollback did not restore steady state: {result.get('steady_state')}"
