"""What a drill will do, before it does it: the scenarios pytest collects for a cadence and a ``-k``
selection (the very collection ``drill run`` makes), each step matched to its registration
(``registry``) and its calls, each fault step to its fault's calls and to whether the target can
run it. Ids only the account knows (the hosted zone, the user pools) are resolved read-only when
a target is given; planning never makes a mutating call (the target is read-only).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from drill.core.calls import Call, Ctx
from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput
from drill.core.paths import REPO_ROOT, SCENARIOS_DIR
from drill.faults.registry import get as get_fault
from drill.plan import library
from drill.plan.registry import STEPS
from drill.targets.base import Target

CADENCES = {"monthly": "monthly", "quarterly": "quarterly", "weekly": "weekly",
            "all": "monthly or quarterly or weekly"}


@dataclass
class Scenario:
    nodeid: str
    feature: str
    feature_file: str
    name: str
    tags: set[str]
    steps: list[tuple[str, str]] = field(default_factory=list)  # (given|when|then, text)


class _Collector:
    def __init__(self) -> None:
        self.scenarios: list[Scenario] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from pytest_bdd.scenario import scenario_wrapper_template_registry as templates

        for item in session.items:
            sc = templates.get(getattr(item, "obj", None))  # type: ignore[arg-type]
            if sc is None:
                continue
            tags = {m.name for m in item.iter_markers()} - {"usefixtures", "parametrize"}
            self.scenarios.append(Scenario(item.nodeid, sc.feature.name, sc.feature.rel_filename, sc.name, tags,
                                           [(s.type, s.name) for s in sc.steps]))


@contextlib.contextmanager
def drill_config_env(loaded: LoadedConfig) -> Iterator[None]:
    """The config a pytest run in this process loads (conftest.py reads DRILL_CONFIG)."""
    previous = os.environ.get("DRILL_CONFIG")
    os.environ["DRILL_CONFIG"] = json.dumps({"path": str(loaded.path), "profile": loaded.profile,
                                             "set": loaded.set_args})
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DRILL_CONFIG", None)
        else:
            os.environ["DRILL_CONFIG"] = previous


def fresh_scenarios() -> None:
    """The scenarios module binds the features of the config a run applies: import it anew."""
    import sys

    sys.modules.pop("scenarios.test_features", None)
    sys.modules.pop("test_features", None)


def pytest_args(cadence: str, select: str | None) -> list[str]:
    if cadence not in CADENCES:
        raise InvalidInput(f"--cadence {cadence}: unknown (known: {', '.join(CADENCES)})")
    args = ["-p", "no:cacheprovider", "--strict-markers", "-m", CADENCES[cadence], "--rootdir", str(REPO_ROOT),
            "-o", "testpaths=", "-o", "addopts=", str(SCENARIOS_DIR)]
    return args + (["-k", select] if select else [])


def collect(loaded: LoadedConfig, cadence: str, select: str | None) -> list[Scenario]:
    """The scenarios ``drill run`` would run (pytest's own collection, -m and -k included)."""
    collector = _Collector()
    out = io.StringIO()
    fresh_scenarios()
    with drill_config_env(loaded), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main(["--collect-only", "-q", *pytest_args(cadence, select)], plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        lines = [x for x in out.getvalue().splitlines() if x.strip()]
        raise InvalidInput(f"the scenarios do not load: {lines[-1] if lines else code}")
    return collector.scenarios


def resolve(loaded: LoadedConfig, target: Target | None) -> Ctx:
    """Ids only the account knows, by read-only calls; wildcards without a target."""
    cfg = loaded.config
    ctx = Ctx(cfg, cfg.allowed_accounts()[0] if cfg.allowed_accounts() else "*")
    if target is None:
        return ctx
    from drill.ops import cognito, route53

    ctx.account = target.account or ctx.account
    with contextlib.suppress(Exception):
        ctx.zone_id = route53.zone_id(target)
    for role in ("primary", "dr"):
        with contextlib.suppress(Exception):
            ctx.pool_ids[role] = cognito.pool(target, role)[1]
    return ctx


def step_def(kind: str, text: str) -> Any:
    for sd in STEPS:
        if sd.matches(kind, text):
            return sd
    raise InvalidInput(f"plan: no step definition for {kind} {text!r} (steps/ registers each step with its calls)")


def build(loaded: LoadedConfig, cadence: str, target_name: str, capabilities: frozenset[str],
          target: Target | None = None, select: str | None = None,
          scenarios: list[Scenario] | None = None) -> dict[str, Any]:
    cfg = loaded.config
    ctx = resolve(loaded, target)
    scenarios = scenarios if scenarios is not None else collect(loaded, cadence, select)
    plan: dict[str, Any] = {"target": target_name, "cadence": cadence, "account": ctx.account, "select": select,
                            "scenarios": [], "unavailable": [],
                            "session": [c.as_dict() for c in library.session(ctx)]}
    for sc in scenarios:
        entry: dict[str, Any] = {"feature": sc.feature, "scenario": sc.name, "nodeid": sc.nodeid,
                                 "tags": sorted(sc.tags), "destructive": cfg.aws.destructive_tag in sc.tags,
                                 "steps": []}
        for kind, text in sc.steps:
            sd = step_def(kind, text)
            calls = sd.calls(ctx) if sd.calls else []
            step: dict[str, Any] = {"step": text}
            if sd.fault:
                fault = get_fault(sd.fault)
                step["fault"] = sd.fault
                step["heals"] = fault.heals or "no: undone by the drill (and by drill rollback)"
                step["twin_only"] = fault.twin_only
                calls = fault.calls(ctx) + calls
                missing = sorted(fault.requires - capabilities)
                if missing:
                    step["unavailable"] = f"fault {sd.fault} needs {', '.join(missing)} (not on {target_name})"
                    plan["unavailable"].append(f"{sc.name}: {step['unavailable']}")
            step["calls"] = [c.as_dict() for c in unique(calls)]
            entry["steps"].append(step)
        plan["scenarios"].append(entry)
    return plan


def unique(calls: list[Call]) -> list[Call]:
    """A step's calls, each once: the library's parts share calls (a failover and its canaries
    both read the database login); the same call on the same resources is listed at its first
    place, with the notes of every mention."""
    first: dict[tuple[Any, ...], Call] = {}
    notes: dict[tuple[Any, ...], list[str]] = {}
    for c in calls:
        key = (c.kind, c.service, c.operation, c.region, c.resources, c.mutating)
        first.setdefault(key, c)
        if c.note and c.note not in notes.setdefault(key, []):
            notes[key].append(c.note)
    return [replace(c, note="; ".join(notes.get(k, []))) for k, c in first.items()]


def all_calls(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for sc in plan["scenarios"] for st in sc["steps"] for c in st["calls"]] + list(plan.get("session", []))


def features_dir(loaded: LoadedConfig) -> Path:
    return (loaded.path.parent / loaded.config.policy.features).resolve()
