"""Start, inspect and stop the sandbox supervisor (used by the CLI and by ``drill run``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from drill.config import REPO_ROOT, LoadedConfig
from drill.errors import DeadlineExceeded, DrillError, InvalidInput
from sandbox.mysql import require_binaries
from sandbox.state import control, pid_alive, read_state, runtime_dir
from sandbox.supervisor import port_taken


def running_state() -> dict[str, Any] | None:
    state = read_state()
    if state and state.get("phase") == "running" and pid_alive(int(state.get("pid", 0))):
        return state
    return None


def up(loaded: LoadedConfig, posture: str | None = None, timeout_s: float = 90.0,
       localstack: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
    """Start the twin in the background; return (state, started_now). Raises InvalidInput on bad input.

    ``localstack`` (from ``drill.targets.detect_localstack``) sends the services it names to a real
    LocalStack instead of the twin's own emulator."""
    cfg = loaded.config
    existing = running_state()
    if existing:
        return existing, False
    require_binaries(cfg.sandbox.mariadb_bin_dir)
    for name in cfg.sandbox.ports.model_fields:
        port = int(getattr(cfg.sandbox.ports, name))
        if port and port_taken(cfg.sandbox.host, port):
            raise InvalidInput(f"sandbox.ports.{name}: port {port} on {cfg.sandbox.host} is already in use")
    rundir = runtime_dir()
    if rundir.exists():  # leftovers of a crashed sandbox
        _kill_leftovers(rundir)
        shutil.rmtree(rundir, ignore_errors=True)
    rundir.mkdir(parents=True, mode=0o700)
    (rundir / "config.json").write_text(json.dumps({
        "config": cfg.model_dump(mode="json"), "applied": loaded.applied(),
        "policy_health_check_interval_s": loaded.policy_values().route53.health_check.interval_s,
        "posture": posture or cfg.sandbox.posture, "localstack": localstack}))
    out = open(rundir / "supervisor.out", "ab")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.supervisor", str(rundir)], stdout=out,
                            stderr=out, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                            cwd=str(REPO_ROOT))
    out.close()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = read_state()
        if state and state.get("phase") == "running":
            return state, True
        if state and state.get("phase") == "failed" or proc.poll() is not None:
            state = read_state() or {}
            error = state.get("error") or _tail(rundir / "supervisor.out")
            proc.wait(timeout=20)
            _kill_leftovers(rundir)
            shutil.rmtree(rundir, ignore_errors=True)
            if "in use" in error or "not found" in error.lower() and "binar" in error.lower():
                raise InvalidInput(error)
            raise DrillError(f"sandbox failed to start: {error}")
        time.sleep(0.1)
    down()
    raise DeadlineExceeded(f"sandbox not healthy within {timeout_s:.0f} s")


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "supervisor exited"
    return lines[-1] if lines else "supervisor exited"


def _kill_leftovers(rundir: Path) -> None:
    """After a hard kill of the supervisor its MariaDB servers may still run: stop them."""
    for pidfile in (rundir / "mysql").glob("*.pid") if (rundir / "mysql").exists() else []:
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass


def status() -> dict[str, Any] | None:
    state = running_state()
    if not state:
        return None
    try:
        return dict(control(state, "GET", "/status", timeout=15))
    except (OSError, RuntimeError):
        state["healthy"] = False
        state["error"] = "control API not answering"
        return state


def down(timeout_s: float = 30.0) -> bool:
    """Stop the twin; leaves no process, port or runtime directory. Returns whether one ran."""
    rundir = runtime_dir()
    state = read_state()
    if not rundir.exists():
        return False
    pid = int(state.get("pid", 0)) if state else 0
    if pid and pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and pid_alive(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        if pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
    _kill_leftovers(rundir)
    shutil.rmtree(rundir, ignore_errors=True)
    return True
