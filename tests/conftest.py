"""Test helpers; the sandbox fixtures live in the root conftest.py (shared with the features)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import run_drill_cli as drill  # noqa: F401 - re-exported for the tests

__all__ = ["drill"]


@pytest.fixture(scope="session")
def sandbox(sandbox_env: dict[str, str]) -> dict[str, Any]:
    res = drill("sandbox", "status", "--json", env=sandbox_env, check=True)
    state: dict[str, Any] = json.loads(res.stdout)
    return state
