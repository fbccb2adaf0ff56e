"""``drill fault NAME``: inject one fault of the catalog, hold it, undo it.

It runs as a small drill of its own (a journal under reports/, undo written durably before the
fault), so everything that protects a drill protects it too: SIGINT and SIGTERM undo the fault,
and after a hard kill ``drill rollback`` does.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from drill.config import REPO_ROOT, LoadedConfig
from drill.engine import Drill
from drill.errors import InvalidInput
from drill.faults import REGISTRY


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InvalidInput(f"--param {item!r}: expected key=value")
        key, value = item.split("=", 1)
        params[key] = yaml.safe_load(value)
    return params


def run_fault(loaded: LoadedConfig, target: str, name: str, params: dict[str, Any], hold_s: float,
              reports_dir: str | None, confirm: str | None = None) -> int:
    if name not in REGISTRY:
        raise InvalidInput(f"unknown fault {name!r} (known: {', '.join(sorted(REGISTRY))})")
    if target not in REGISTRY[name].targets:
        raise InvalidInput(f"fault {name}: not available on target {target} (drill fault --list)")
    options: dict[str, Any] = {}
    if target == "aws":  # a fault on an account is destructive by definition: the account, then --confirm
        from drill.aws import AwsTarget

        AwsTarget(loaded, None, confirm=confirm, destructive=True)
        options = {"confirm": confirm, "destructive": True}
    drill = Drill(loaded, target, f"fault-{name}", Path(reports_dir) if reports_dir else REPO_ROOT / "reports",
                  target_options=options)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    status = "finished"
    try:
        drill.inject(name, **params)
        print(f"drill fault {name}: injected ({drill.dir.name}); holding {hold_s:g} s", flush=True)
        end = time.monotonic() + hold_s
        while time.monotonic() < end:
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            result = drill.restore()
        finally:
            drill.close(status)
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"drill fault {name}: undone, steady state {'restored' if result['ok'] else 'NOT restored'}")
    if status == "interrupted":
        return 130
    return 0 if result["ok"] else 1
