"""Fixtures shared by the features and the tests: the config a run applies, the twin of a test
session, and the drill.

The config comes from DRILL_CONFIG (JSON: path, profile, set), which ``drill run`` and ``drill
plan`` set for the pytest they run in-process; plain pytest uses the policy file with the sandbox
profile. Under ``drill run`` its plugin ("drill-run") provides the Drill (one journal for the run);
under plain pytest one Drill is made per session against a twin the session starts in its own
runtime directory and stops at the end. After each scenario the target is restored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drill.core.config import LoadedConfig, load_config

REPO = Path(__file__).resolve().parent
pytest_plugins = ["steps.common", "steps.monthly", "steps.quarterly", "steps.weekly"]
SWITCH_TAGS = {"alerting": "switch_manual", "routing": "switch_by_health_check"}


def loaded_config() -> LoadedConfig:
    spec = json.loads(os.environ.get("DRILL_CONFIG") or "{}")
    return load_config(spec.get("path"), spec.get("profile", "sandbox"), spec.get("set") or [])


def pytest_configure(config: pytest.Config) -> None:
    """Tags that trace a scenario to the policy come from the policy file itself: @checklist_<id> for
    each checklist item and @<key> for each regular test. Any other tag fails --strict-markers."""
    cfg = loaded_config().config
    for item in cfg.checklist:
        config.addinivalue_line("markers", f"checklist_{item.id}: checklist item {item.id}: {item.en} [{item.ko}]")
    for test in cfg.regular_tests:
        config.addinivalue_line("markers", f"{test.key}: regular test ({test.cadence}): {test.content}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A scenario for the other switchover mode (route53.health_check.used_for) does not apply."""
    mode = SWITCH_TAGS[loaded_config().config.route53.health_check.used_for]
    other = set(SWITCH_TAGS.values()) - {mode}
    keep = [i for i in items if not other & {m.name for m in i.iter_markers()}]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    _in_policy_order(items)


def _in_policy_order(items: list[pytest.Item]) -> None:
    """Scenarios run in the order the policy lists its regular tests (section 8's table: the
    failover simulation before the failback test, as a quarterly drill does them), then by their
    lowest checklist item; not in the order the feature files happen to be found. Other tests keep
    their places."""
    cfg = loaded_config().config
    tests = [t.key for t in cfg.regular_tests]

    def rank(item: pytest.Item) -> tuple[int, int] | None:
        names = {m.name for m in item.iter_markers()}
        found = [n for n, key in enumerate(tests) if key in names]
        if not found:
            return None
        ids = [int(n.removeprefix("checklist_")) for n in names if n.startswith("checklist_")
               and n.removeprefix("checklist_").isdigit()]
        return found[0], min(ids, default=10**9)  # no checklist item: after those with one

    slots = [n for n, item in enumerate(items) if rank(item) is not None]
    ordered = sorted((items[n] for n in slots), key=lambda i: rank(i) or (0, 0))
    for n, item in zip(slots, ordered, strict=True):
        items[n] = item


def run_drill_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
                  check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    res = subprocess.run([sys.executable, "-m", "drill", *args], capture_output=True, text=True, cwd=REPO,
                         env=full_env, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"drill {' '.join(args)} -> {res.returncode}\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture(scope="session")
def sandbox_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A twin for this test session, in its own private runtime dir (never the user's own one).
    DRILL_TEST_RUNTIME_DIR names a twin already running to reuse instead (and leave running): it
    saves the start-up while writing tests."""
    reuse = os.environ.get("DRILL_TEST_RUNTIME_DIR")
    if reuse:
        os.environ["DRILL_RUNTIME_DIR"] = reuse
        yield {"DRILL_RUNTIME_DIR": reuse}
        return
    base = tmp_path_factory.mktemp("twin")
    base.chmod(0o700)
    rundir = base / "run"
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
    plugin = next((p for p in request.config.pluginmanager.get_plugins() if getattr(p, "is_drill_run", False)), None)
    if plugin is not None:
        yield plugin.drill
        return
    from drill.engine.drill import Drill

    request.getfixturevalue("sandbox_env")
    d = Drill(loaded_config(), "sandbox", "pytest", reports_dir=tmp_path_factory.mktemp("reports"))
    yield d
    d.close()


@pytest.fixture
def drill(drill_session: Any) -> Iterator[Any]:
    """The drill, with the target restored after each scenario (faults undone, the policy's
    failback where the runbook left changes, the drill's data removed, steady state checked)."""
    from drill.engine.restore import restore

    yield drill_session
    result = restore(drill_session)
    assert result["ok"], f"the restore did not bring the target back to steady state: {result}"
