"""`--time-scale`: the policy's clocks scaled, each applied value recorded; the stop budget and the
action deadline are the config file's own (the profile's short ones would end a long run early);
a --set still has the last word."""

from __future__ import annotations

import pytest

from drill.core.config import SCALED_CLOCKS, load_config
from drill.core.errors import InvalidInput


def test_the_policys_clocks_are_scaled_and_the_budgets_are_not_the_profiles() -> None:
    policy = load_config(None, None).config
    profile = load_config(None, "sandbox").config
    scaled = load_config(None, "sandbox", None, 0.1).config
    assert scaled.declaration.outage_s == pytest.approx(policy.declaration.outage_s * 0.1)
    assert scaled.failback.stabilization_s == pytest.approx(policy.failback.stabilization_s * 0.1)
    assert profile.stop.time_budget_s < policy.stop.time_budget_s == scaled.stop.time_budget_s
    assert scaled.measure.action_deadline_s == policy.measure.action_deadline_s
    assert "declaration.outage_s" in SCALED_CLOCKS
    again = load_config(None, "sandbox", ["stop.time_budget_s=1500"], 0.1).config
    assert again.stop.time_budget_s == 1500


def test_a_factor_outside_zero_to_one_is_refused() -> None:
    for factor in (0, 1.5, -1):
        with pytest.raises(InvalidInput, match="time-scale"):
            load_config(None, "sandbox", None, factor)
