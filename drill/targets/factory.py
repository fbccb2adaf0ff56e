"""Make the target a command names; the one place that maps a target's name to its class."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput
from drill.core.journal import Journal
from drill.targets.base import Target

# a target's name -> "module:class"; adding a target is one class in drill/targets/ and one line here
TARGETS = {"sandbox": "drill.targets.sandbox:SandboxTarget",
           "localstack": "drill.targets.localstack:LocalStackTarget",
           "aws": "drill.targets.aws:AwsTarget"}
NAMES = tuple(TARGETS)


def target_class(name: str) -> type[Target]:
    if name not in TARGETS:
        raise InvalidInput(f"--target {name}: unknown (known: {', '.join(NAMES)})")
    module, _, cls = TARGETS[name].partition(":")
    found: type[Target] = getattr(importlib.import_module(module), cls)
    return found


def make_target(name: str, loaded: LoadedConfig, journal: Journal | None = None, calls: Journal | None = None,
                read_only: bool = False, start_sandbox: bool = True, posture: str | None = None,
                confirm: str | None = None, destructive: bool = False,
                on_startup_step: Callable[[dict[str, float]], None] | None = None) -> Target:
    return target_class(name).make(loaded, journal, calls, read_only, start_sandbox, posture, confirm, destructive,
                                   on_startup_step)


def capabilities_of(name: str) -> frozenset[str]:
    """What a target can do before one is made (for a plan without a target)."""
    return target_class(name).planned_capabilities()


def twin_routing(name: str, loaded: LoadedConfig) -> dict[str, Any] | None:
    """What a twin started for ``name`` routes where (LocalStack's services), or refuse a target
    that has no twin."""
    return target_class(name).twin_routing(loaded)
