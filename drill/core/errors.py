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
