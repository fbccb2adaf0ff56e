"""Where a running sandbox is recorded, and how clients find and talk to it."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def runtime_dir() -> Path:
    """One sandbox per user (or per DRILL_RUNTIME_DIR, which tests set to isolate theirs)."""
    env = os.environ.get("DRILL_RUNTIME_DIR")
    if env:
        return Path(env)
    return Path(tempfile.gettempdir()) / f"drill-sandbox-{os.getuid()}"


def state_path() -> Path:
    return runtime_dir() / "state.json"


def read_state() -> dict[str, Any] | None:
    try:
        data = json.loads(state_path().read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: Any, mode: int = 0o644) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def control(state: dict[str, Any], method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
    """Call the supervisor's control API; raises OSError when it is unreachable."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(state["control_url"] + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise RuntimeError(f"sandbox control {path}: HTTP {exc.code}: {detail}") from None
