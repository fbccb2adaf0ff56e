"""A drill's faults: each one's undo state captured and written durably before it starts, then
injected; undone by the one undo loop (``undo.undo_all``)."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from drill.core.errors import InvalidInput
from drill.core.journal import Journal
from drill.faults.registry import get
from drill.faults.undo import Pending, UndoResult, undo_all
from drill.targets.base import Target


class FaultManager:
    def __init__(self, target: Target, journal: Journal, drill_id: str = ""):
        self.target = target
        self.journal = journal
        self.drill_id = drill_id
        self.active: list[Pending] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def inject(self, name: str, **params: Any) -> str:
        return self.inject_details(name, **params)[0]

    def inject_details(self, name: str, **params: Any) -> tuple[str, dict[str, Any]]:
        fault = get(name)
        why = fault.available(self.target)
        if why:
            raise InvalidInput(f"fault {name}: not available here: {why} (drill fault --list)")
        fault.check_params(params)
        fault_id = f"{name}-{next(self._ids)}"
        state = {**params, **fault.capture(self.target, **params), "fault_tag": f"{self.drill_id}/{fault_id}"}
        self.journal.write("fault_planned", durable=True, fault_id=fault_id, name=name, params=params,
                           undo={"name": name, "params": state}, target=self.target.name, heals=fault.heals)
        pending = Pending(fault_id, name, state)
        with self._lock:
            self.active.append(pending)
        try:
            details = fault.inject(self.target, **state) or {}
        except Exception as exc:
            self.journal.write("fault_inject_failed", durable=True, fault_id=fault_id, error=str(exc)[:300])
            raise
        pending.state.update(details)
        self.journal.write("fault_injected", durable=True, fault_id=fault_id, name=name, details=details)
        return fault_id, details

    def revert_all(self, by: str = "the drill") -> UndoResult:
        with self._lock:
            pending = list(reversed(self.active))
        result = undo_all(self.target, self.journal, pending, by)
        with self._lock:
            self.active = [p for p in self.active if p.fault_id not in result.undone]
        return result
