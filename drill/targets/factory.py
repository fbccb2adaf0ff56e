"""Make the target a command names; the one place that maps a target's name to its class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput
from drill.core.journal import Journal
from drill.targets.base import Target

NAMES = ("sandbox", "localstack", "aws")


def make_target(name: str, loaded: LoadedConfig, journal: Journal | None = None, calls: Journal | None = None,
                read_only: bool = False, start_sandbox: bool = True, posture: str | None = None,
                confirm: str | None = None, destructive: bool = False,
                on_startup_step: Callable[[dict[str, float]], None] | None = None) -> Target:
    if name == "sandbox":
        from drill.targets.sandbox import SandboxTarget

        return SandboxTarget(loaded, journal, calls, read_only, start=start_sandbox, posture=posture,
                             on_startup_step=on_startup_step)  # confirm: not asked
    if name == "localstack":
        from drill.targets.localstack import LocalStackTarget

        return LocalStackTarget(loaded, journal, calls, read_only, start=start_sandbox, posture=posture,
                                on_startup_step=on_startup_step)
    if name == "aws":
        from drill.targets.aws import AwsTarget

        return AwsTarget(loaded, journal, calls, read_only, confirm=confirm, destructive=destructive)
    raise InvalidInput(f"--target {name}: unknown (known: {', '.join(NAMES)})")




def capabilities_of(name: str) -> frozenset[str]:
    """What a target can do before one is made (for a plan without a target)."""
    if name == "sandbox":
        from drill.targets.sandbox import SandboxTarget

        return SandboxTarget.capabilities
    if name == "localstack":
        return frozenset({"twin", "pause:s3", "slack_history"})  # DynamoDB is LocalStack's own there
    if name == "aws":
        return frozenset({"pause:dynamodb", "pause:s3", "destructive_confirm"})
    raise InvalidInput(f"--target {name}: unknown (known: {', '.join(NAMES)})")


def twin_routing(name: str, loaded: LoadedConfig) -> dict[str, Any] | None:
    """What a twin started for ``name`` routes where (LocalStack's services), or refuse a target
    that has no twin."""
    if name == "aws":
        raise InvalidInput("--target aws has no sandbox (use sandbox or localstack)")
    if name == "localstack":
        from drill.targets.localstack import detect_localstack

        return detect_localstack(loaded.config)
    return None
