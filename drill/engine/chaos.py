"""``drill fault NAME``: inject one fault of the catalog, hold it, undo it.

It runs as a small drill of its own (a journal under reports/, the undo written durably before
the fault, the same session), so everything that protects a drill protects it too: SIGINT,
SIGTERM and SIGHUP undo the fault, and after a hard kill ``drill rollback`` does. A fault that
changes an account needs ``--confirm <account>`` where the target asks for it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from drill.core.config import LoadedConfig
from drill.core.errors import InvalidInput
from drill.core.paths import REPORTS_DIR
from drill.engine.drill import Drill
from drill.engine.failover import inject
from drill.engine.session import Session
from drill.faults.registry import get
from drill.targets.factory import make_target


def parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InvalidInput(f"--param {item!r}: expected key=value")
        key, value = item.split("=", 1)
        params[key] = yaml.safe_load(value)
    return params


def run_fault(loaded: LoadedConfig, target_name: str, name: str, params: dict[str, Any], hold_s: float,
              reports_dir: str | None, confirm: str | None = None) -> int:
    fault = get(name)
    fault.check_params(params)
    target = make_target(target_name, loaded, confirm=confirm, destructive=True)
    why = fault.available(target)
    if why:
        target.close()
        raise InvalidInput(f"fault {name}: not available on {target_name}: {why} (drill fault --list)")
    drill = Drill(loaded, target_name, f"fault-{name}", Path(reports_dir) if reports_dir else REPORTS_DIR,
                  target=target)
    session = Session(drill, watch=False, confirm=confirm)
    try:
        with session:
            inject(drill, name, **params)
            print(f"drill fault {name}: injected ({drill.dir.name}); holding {hold_s:g} s", flush=True)
            end = time.monotonic() + hold_s
            while time.monotonic() < end:
                time.sleep(min(0.1, max(0.0, end - time.monotonic())))
    except KeyboardInterrupt:
        pass
    ok = bool(session.restore_result and session.restore_result.get("ok"))
    print(f"drill fault {name}: undone, steady state {'restored' if ok else 'NOT restored'}")
    if session.signalled:
        return 130
    return 0 if ok else 1
