"""Verdicts that can fail: every defect of the sabotage catalog (tests/sabotage.py), planted in the
session's twin the way it happens on an account, makes `drill run` of the one scenario that must
catch it exit 1, failing at the named step with the named words; the twin is reset between cases.
The clean twin passing every scenario is shown by test_drill_run.py on the same twin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CFG, drill
from tests.sabotage import Ops, catalog, run_case

DEFECTS = catalog(CFG)


def test_the_catalog_is_broad() -> None:
    assert len(DEFECTS) >= 15
    assert len({d.name for d in DEFECTS}) == len(DEFECTS)
    assert sum(d.held_out for d in DEFECTS) == 3
    assert all(d.args for d in DEFECTS if d.twin_only) and not any(d.args for d in DEFECTS if not d.twin_only)


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.name for d in DEFECTS])
def test_planted_defect_fails_its_scenario(defect: Any, twin: Any, account: dict[str, str],
                                           sandbox_env: dict[str, str], tmp_path: Path) -> None:
    twin.reset()
    outcome = run_case(defect, Ops(account, CFG), twin,
                       lambda *a: drill(*a, env=sandbox_env, timeout=600), tmp_path)
    assert outcome.caught, f"{defect.name} missed: {outcome.why} (step {outcome.step!r})"
