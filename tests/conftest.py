"""Test helpers; the sandbox fixtures live in the root conftest.py (shared with the features)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient

from conftest import run_drill_cli as drill  # noqa: F401 - re-exported for the tests

__all__ = ["drill"]


@pytest.fixture(scope="session")
def sandbox(sandbox_env: dict[str, str]) -> dict[str, Any]:
    res = drill("sandbox", "status", "--json", env=sandbox_env, check=True)
    state: dict[str, Any] = json.loads(res.stdout)
    return state


@pytest.fixture
def as_aws(sandbox: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """AWS credentials and endpoint pointing at the twin; yields the list of calls made."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox["aws_endpoint"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    calls: list[tuple[str, str]] = []
    original = BaseClient._make_api_call

    def record(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append((self.meta.service_model.service_name, operation_name))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    yield calls
