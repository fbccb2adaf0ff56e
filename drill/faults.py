"""Reversible faults. Each fault's undo is recorded durably before the fault starts.

A fault is a pair of plain functions ``inject(target, **params)`` and ``undo(target, **params)``
registered by name. ``FaultManager`` journals ``fault_planned`` (fsynced, with everything the
undo needs), then injects, then journals ``fault_injected``; ``revert_all`` undoes what is active
in reverse order and journals ``fault_reverted``. ``pending_from_journal`` finds what a killed
drill left injected, so ``drill rollback`` can finish the job.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drill.errors import InvalidInput
from drill.journal import Event, Journal
from drill.targets import SandboxTarget, Target


@dataclass(frozen=True)
class FaultKind:
    name: str
    description: str
    inject: Callable[..., None]
    undo: Callable[..., None]


REGISTRY: dict[str, FaultKind] = {}


def fault(name: str, description: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(inject: Callable[..., None]) -> Callable[..., None]:
        REGISTRY[name] = FaultKind(name, description, inject, lambda *a, **k: None)
        return inject

    return register


def undoes(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(undo: Callable[..., None]) -> Callable[..., None]:
        kind = REGISTRY[name]
        REGISTRY[name] = FaultKind(kind.name, kind.description, kind.inject, undo)
        return undo

    return register


def _sandbox(target: Target, fault_name: str) -> SandboxTarget:
    if not isinstance(target, SandboxTarget):
        raise InvalidInput(f"fault {fault_name}: no implementation for target {target.name} yet")
    return target


# --------------------------------------------------------------------- catalog (sandbox)


@fault("region_outage", "the primary region goes dark: its services, its AWS endpoints and its "
                        "database stop; in-flight cross-region replication is lost")
def _region_outage(target: Target, role: str = "primary") -> None:
    _sandbox(target, "region_outage").control("POST", "/outage", {"role": role, "down": True})


@undoes("region_outage")
def _region_outage_undo(target: Target, role: str = "primary") -> None:
    _sandbox(target, "region_outage").control("POST", "/outage", {"role": role, "down": False})


@fault("replication_lag", "cross-region RDS replication runs delay_s behind")
def _lag(target: Target, delay_s: float = 5.0, previous_s: float = 0.0) -> None:
    _sandbox(target, "replication_lag").control("POST", "/replication/rds", {"delay_s": delay_s})


@undoes("replication_lag")
def _lag_undo(target: Target, delay_s: float = 5.0, previous_s: float = 0.0) -> None:
    _sandbox(target, "replication_lag").control("POST", "/replication/rds", {"delay_s": previous_s})


# --------------------------------------------------------------------- manager


class FaultManager:
    def __init__(self, target: Target, journal: Journal):
        self.target = target
        self.journal = journal
        self.active: list[tuple[str, str, dict[str, Any]]] = []  # (fault id, name, params)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def inject(self, name: str, **params: Any) -> str:
        if name not in REGISTRY:
            raise InvalidInput(f"unknown fault {name!r} (known: {', '.join(sorted(REGISTRY))})")
        fault_id = f"{name}-{next(self._ids)}"
        self.journal.write("fault_planned", durable=True, fault_id=fault_id, name=name, params=params,
                           undo={"name": name, "params": params}, target=self.target.name)
        with self._lock:
            self.active.append((fault_id, name, params))
        try:
            REGISTRY[name].inject(self.target, **params)
        except Exception as exc:
            self.journal.write("fault_inject_failed", durable=True, fault_id=fault_id, error=str(exc)[:300])
            raise
        self.journal.write("fault_injected", durable=True, fault_id=fault_id, name=name)
        return fault_id

    def revert(self, fault_id: str) -> bool:
        with self._lock:
            entry = next((a for a in self.active if a[0] == fault_id), None)
            if entry is None:
                return True
            self.active.remove(entry)
        _, name, params = entry
        try:
            REGISTRY[name].undo(self.target, **params)
        except Exception as exc:
            self.journal.write("fault_revert_failed", durable=True, fault_id=fault_id, error=str(exc)[:300])
            return False
        self.journal.write("fault_reverted", durable=True, fault_id=fault_id, name=name)
        return True

    def revert_all(self) -> bool:
        ok = True
        while True:
            with self._lock:
                if not self.active:
                    return ok
                fault_id = self.active[-1][0]
            ok = self.revert(fault_id) and ok


def pending_from_journal(events: list[Event]) -> list[tuple[str, str, dict[str, Any]]]:
    """Faults planned and not reverted, newest first (the order to undo them)."""
    planned: dict[str, tuple[str, dict[str, Any]]] = {}
    order: list[str] = []
    for ev in events:
        fid = ev.get("fault_id")
        if ev.event == "fault_planned":
            undo = ev.get("undo") or {}
            planned[fid] = (undo.get("name", ev.get("name")), undo.get("params", {}))
            order.append(fid)
        elif ev.event == "fault_reverted":
            planned.pop(fid, None)
    return [(fid, *planned[fid]) for fid in reversed(order) if fid in planned]
