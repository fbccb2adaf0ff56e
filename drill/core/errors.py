"""One root exception with a few meaningful children; the CLI maps them to exit codes."""

from __future__ import annotations


class DrillError(Exception):
    """Root of every error the harness raises on purpose."""

    exit_code = 1


class InvalidInput(DrillError):
    """Bad input (config, tag, flag, missing binary, taken port): exit 2, nothing mutated."""

    exit_code = 2


class ActionFailed(DrillError):
    """A runbook action or probe did not reach its goal before its deadline."""


class Interrupted(DrillError):
    """SIGINT or SIGTERM arrived; rollback still runs."""

    exit_code = 130


class DeadlineExceeded(ActionFailed):
    """A wait ran past its deadline."""


class ReadOnlyViolation(DrillError):
    """A read-only command (plan, audit) tried to change something; the call was not sent."""


class TargetUnavailable(InvalidInput):
    """The target a command names is not there (no twin running, when one must not be started)."""
