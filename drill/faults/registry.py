"""The fault catalog's registry. A fault is one class in its own module of ``faults/catalog``:
what it needs of a target (capabilities), how it captures the state its undo restores, how it is
injected and undone, which calls it makes (for the plan and the IAM policy), and whether it heals
itself if the harness dies (an AWS FIS experiment's duration) or must be undone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from drill.core.calls import Call, Ctx
from drill.core.errors import InvalidInput
from drill.targets.base import Target

REGISTRY: dict[str, Fault] = {}


class Fault:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    requires: ClassVar[frozenset[str]] = frozenset()  # capabilities of the target
    twin_only: ClassVar[bool] = False  # a network condition or failure no account API makes
    heals: ClassVar[str] = ""  # how it ends by itself if the harness dies; "" : it must be undone
    params: ClassVar[dict[str, type | tuple[type, ...]]] = {}  # what --param may set
    state: ClassVar[dict[str, type | tuple[type, ...]]] = {}  # what the undo reads (journaled), besides params

    def available(self, target: Target) -> str | None:
        """None when the target can run it, else why not."""
        missing = sorted(self.requires - target.capabilities)
        return f"needs {', '.join(missing)} (target {target.name} has not)" if missing else None

    def preflight(self, target: Target) -> None:
        """Read-only: that what the fault acts on exists in the target, before the drill changes
        anything (InvalidInput otherwise: exit 2, nothing mutated). Run for every fault of the plan
        when a drill starts; what it reads is among the fault's ``calls``."""

    # ``*args, **params``: each fault names its own keyword parameters (its ``params``, checked by
    # ``check_params`` first); one it does not name stays a TypeError
    def capture(self, target: Target, *args: Any, **params: Any) -> dict[str, Any]:
        """The state the undo restores, read before injecting (journaled, fsynced)."""
        return {}

    def inject(self, target: Target, **state: Any) -> dict[str, Any]:
        """Inject; returns what the undo also needs (journaled with ``fault_injected``)."""
        raise NotImplementedError

    def undo(self, target: Target, **state: Any) -> None:
        """Undo; must be idempotent (``drill rollback`` may repeat it) and check that what the state
        names belongs to the policy (a journal is not trusted blindly)."""
        raise NotImplementedError

    def calls(self, ctx: Ctx) -> list[Call]:
        return []

    def check_params(self, params: dict[str, Any], undo_state: bool = False) -> dict[str, Any]:
        """--param values and journal undo state, against what the fault declares (InvalidInput)."""
        allowed = {**self.params, **self.state, "fault_tag": str} if undo_state else dict(self.params)
        for key, value in params.items():
            if key not in allowed:
                raise InvalidInput(f"fault {self.name}: unknown parameter {key!r} "
                                   f"(known: {', '.join(sorted(allowed)) or 'none'})")
            if value is not None and not isinstance(value, allowed[key]):
                raise InvalidInput(f"fault {self.name}: parameter {key!r} has the wrong type ({type(value).__name__})")
        return params


def refuse_marked(fault: str, marks: list[str]) -> None:
    """Capture must never record a drill's own fault as the state to restore: with its mark in
    place (another drill's fault still in effect, or one a crash left), refuse to inject."""
    if marks:
        raise InvalidInput(f"fault {fault}: a drill's fault is still in place ({'; '.join(marks[:3])}): "
                           "run drill rollback first (or wait for it to heal)")


def refuse_running_experiments(fault: str, target: Target, region: str) -> None:
    from drill.ops import fis

    refuse_marked(fault, [f"FIS experiment {i} of {tag} running in {region}"
                          for i, tag in fis.drill_experiments(target, region)])


def register(cls: type[Fault]) -> type[Fault]:
    REGISTRY[cls.name] = cls()
    return cls


def get(name: str) -> Fault:
    _load()
    if name not in REGISTRY:
        raise InvalidInput(f"unknown fault {name!r} (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[name]


def catalog() -> dict[str, Fault]:
    _load()
    return dict(REGISTRY)


_loaded: list[bool] = []


def _load() -> None:
    if not _loaded:
        import drill.faults.catalog  # noqa: F401 - each module registers its fault

        _loaded.append(True)


Undo = Callable[..., None]
