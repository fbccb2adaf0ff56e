"""The one fault-undo loop, for a drill's own restore and for ``drill rollback``.

Faults are undone newest first. A fault leaves the active list only once its undo succeeded; a
journal that cannot be written (a full disk) never stops the remaining undos; an undo that fails
is journaled and the loop goes on. The state each undo needs comes from the journal, where it
was written (fsynced) before the fault started, and is checked against the catalog first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from drill.core.journal import Event, Journal
from drill.faults.registry import get
from drill.targets.base import Target


@dataclass
class Pending:
    fault_id: str
    name: str
    state: dict[str, Any]


@dataclass
class UndoResult:
    undone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    journal_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def safe_write(journal: Journal | None, result: UndoResult | None, event: str, **data: Any) -> None:
    """Journal a record; a journal that cannot be written is noted, never raised."""
    if journal is None:
        return
    try:
        journal.write(event, durable=True, **data)
    except (OSError, ValueError) as exc:
        if result is not None:
            result.journal_errors.append(f"{event}: {exc}"[:200])


def undo_all(target: Target, journal: Journal | None, pending: Iterable[Pending], by: str) -> UndoResult:
    result = UndoResult()
    for p in pending:
        try:
            fault = get(p.name)
            fault.check_params(p.state, undo_state=True)
            fault.undo(target, **p.state)
        except Exception as exc:
            result.failed.append(p.fault_id)
            safe_write(journal, result, "fault_revert_failed", fault_id=p.fault_id, name=p.name, by=by,
                       error=f"{type(exc).__name__}: {exc}"[:300])
            continue
        result.undone.append(p.fault_id)
        safe_write(journal, result, "fault_reverted", fault_id=p.fault_id, name=p.name, by=by)
    return result


def pending_from_journal(events: Iterable[Event]) -> list[Pending]:
    """Faults planned and not reverted, newest first (the order to undo them)."""
    planned: dict[str, Pending] = {}
    order: list[str] = []
    for ev in events:
        fid = ev.get("fault_id")
        if ev.event == "fault_planned":
            undo = ev.get("undo") or {}
            planned[fid] = Pending(fid, str(undo.get("name", ev.get("name"))), dict(undo.get("params") or {}))
            order.append(fid)
        elif ev.event == "fault_injected" and fid in planned:
            planned[fid].state.update(ev.get("details") or {})
        elif ev.event == "fault_reverted":
            planned.pop(fid, None)
    return [planned[fid] for fid in reversed(order) if fid in planned]
