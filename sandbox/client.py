"""The seam between the engine and the twin: start, find, inspect and stop a twin, and its typed
control client. The only module of ``sandbox`` that ``drill`` imports.

What a drill sees of a running twin is what an account would give it (``TwinInfo``: the AWS
endpoint and credentials, a kubeconfig, a DNS resolver, the Slack API) plus the twin's own
knobs (``Twin``: network conditions such as a replication delay, a crashed database server,
reset), which the fault catalog, the plan and the report name as twin-only.

The runtime directory is private (0700, owned by the user, checked before use); a pid from it is
signalled only when that process's command line is the program the twin started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drill.core.config import LoadedConfig
from drill.core.errors import DeadlineExceeded, DrillError, InvalidInput
from drill.core.paths import REPO_ROOT
from drill.core.procs import cmdline, pid_alive, signal_if

SUPERVISOR_MODULE = "sandbox.supervisor"
SERVING = ("available", "running")  # LocalStack health states of a service that answers


# ----------------------------------------------------------------------------- runtime directory


def runtime_dir() -> Path:
    """One twin per user (or per DRILL_RUNTIME_DIR, which tests set to isolate theirs)."""
    env = os.environ.get("DRILL_RUNTIME_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    return base / f"drill-sandbox-{os.getuid()}"


def check_private(path: Path) -> None:
    """Refuse a runtime directory someone else owns or others can enter (its pid files are trusted)."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise InvalidInput(f"{path}: the twin's runtime directory is not a directory")
    if st.st_uid != os.getuid():
        raise InvalidInput(f"{path}: the twin's runtime directory belongs to uid {st.st_uid}, not to you")
    if st.st_mode & 0o077:
        raise InvalidInput(f"{path}: the twin's runtime directory is open to others (mode {st.st_mode & 0o777:o}); "
                           "expected 0700")


def read_state() -> dict[str, Any] | None:
    rundir = runtime_dir()
    try:
        check_private(rundir)
        data = json.loads((rundir / "state.json").read_text())
    except (OSError, ValueError, InvalidInput):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: Any, mode: int = 0o600) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def port_taken(host: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    """Whether ``port`` on ``host`` is bound (TCP, or UDP with ``kind=socket.SOCK_DGRAM``)."""
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def find_binary(name: str, bin_dir: str | None = None) -> str | None:
    if bin_dir:
        candidate = Path(bin_dir) / name
        return str(candidate) if candidate.exists() else None
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


def require_mariadb(bin_dir: str | None = None) -> tuple[str, str]:
    server = find_binary("mariadbd", bin_dir) or find_binary("mysqld", bin_dir)
    install = find_binary("mariadb-install-db", bin_dir) or find_binary("mysql_install_db", bin_dir)
    if not server or not install:
        where = f"in {bin_dir} (sandbox.mariadb_bin_dir)" if bin_dir else "on PATH or in /usr/sbin"
        raise InvalidInput(f"MariaDB server binaries not found {where}: the sandbox needs mariadbd and "
                           "mariadb-install-db (Debian: apt-get install mariadb-server)")
    return server, install


def localstack_health(url: str, timeout_s: float) -> dict[str, Any]:
    """LocalStack's own health endpoint: its version and each service's state. Raises OSError."""
    with urllib.request.urlopen(url.rstrip("/") + "/_localstack/health", timeout=timeout_s) as resp:
        data: dict[str, Any] = json.loads(resp.read())
    return data


# ----------------------------------------------------------------------------- what a drill sees


@dataclass(frozen=True)
class TwinInfo:
    """What an account would give a drill, pointed at the twin."""

    aws_endpoint: str
    account_id: str
    kubeconfig: str
    resolver: str  # host:port of the twin's DNS server
    slack_api: str  # base URL of the twin's Slack Web API
    slack_token: str
    regions: dict[str, str]
    routing: dict[str, Any]  # where each AWS service answers (LocalStack or the twin's emulator)
    posture: str

    def env(self) -> dict[str, str]:
        """Shell variables that point the AWS CLI, boto3, kubectl and the harness at the twin."""
        return {"AWS_ENDPOINT_URL": self.aws_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": self.regions["primary"],
                "KUBECONFIG": self.kubeconfig, "DRILL_RESOLVER": self.resolver}


class Twin:
    """A running twin: what it shows (``info``) and its control API (the twin-only knobs)."""

    def __init__(self, state: dict[str, Any]):
        self.state = state
        secrets = json.loads((Path(state["runtime_dir"]) / "secrets.json").read_text())
        self.info = TwinInfo(state["aws_endpoint"], state["account_id"], state["kubeconfig"], state["resolver"],
                             state["slack_api"], secrets["slack_token"], dict(state["regions"]),
                             dict(state.get("aws_routing") or {}), str(state.get("posture")))

    def control(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> Any:
        """Call the supervisor's control API; raises OSError when unreachable, RuntimeError on refusal."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.state["control_url"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise RuntimeError(f"twin control {path}: HTTP {exc.code}: {detail}") from None

    # the twin-only knobs a fault or a test may turn
    def status(self) -> dict[str, Any]:
        return dict(self.control("GET", "/status", timeout=15))

    def replication(self) -> dict[str, Any]:
        return dict(self.control("GET", "/replication"))

    def set_replication(self, store: str, **settings: Any) -> dict[str, Any]:
        return dict(self.control("POST", f"/replication/{store}", settings))

    def db_server(self, role: str, action: str) -> dict[str, Any]:
        return dict(self.control("POST", "/rds", {"role": role, "action": action}))

    def events(self, since: float = 0.0) -> list[dict[str, Any]]:
        return list(self.control("GET", f"/events?since={since}"))

    def reset(self) -> dict[str, Any]:
        return dict(self.control("POST", "/reset", {}, timeout=180))


def running_state() -> dict[str, Any] | None:
    state = read_state()
    if state and state.get("phase") == "running" and _supervisor_alive(state):
        return state
    return None


def _supervisor_alive(state: dict[str, Any]) -> bool:
    pid = int(state.get("pid", 0))
    return pid > 1 and pid_alive(pid) and any(SUPERVISOR_MODULE in a for a in cmdline(pid))


def attach() -> Twin | None:
    state = running_state()
    return Twin(state) if state else None


# ----------------------------------------------------------------------------- lifecycle


def up(loaded: LoadedConfig, posture: str | None = None, timeout_s: float = 120.0,
       localstack: dict[str, Any] | None = None,
       on_step: Callable[[dict[str, float]], None] | None = None) -> tuple[Twin, bool]:
    """Start the twin in the background; return (twin, started_now). Raises InvalidInput on bad input.

    ``localstack`` (from the localstack target) sends the services it names to a real LocalStack
    instead of the twin's own emulator."""
    cfg = loaded.config
    existing = running_state()
    if existing:
        return Twin(existing), False
    require_mariadb(cfg.sandbox.mariadb_bin_dir)
    for name in type(cfg.sandbox.ports).model_fields:
        port = int(getattr(cfg.sandbox.ports, name))
        if port and port_taken(cfg.sandbox.host, port):
            raise InvalidInput(f"sandbox.ports.{name}: port {port} on {cfg.sandbox.host} is already in use")
    rundir = runtime_dir()
    if rundir.exists() or rundir.is_symlink():
        check_private(rundir)
    block, port = cfg.sandbox.address_block, cfg.endpoints.port_or_default()
    if port_taken(f"{block}.1.10", port):  # the first load balancer's address (sandbox/net.py AddressPlan)
        raise InvalidInput(f"{block}.1.10:{port} is in use: another twin runs on sandbox.address_block {block} "
                           f"(give this one another: --set sandbox.address_block=127.N)")
    rundir = runtime_dir()
    if rundir.exists() or rundir.is_symlink():  # leftovers of a crashed twin
        check_private(rundir)
        _kill_leftovers(rundir)
        shutil.rmtree(rundir, ignore_errors=True)
    rundir.parent.mkdir(parents=True, exist_ok=True)
    rundir.mkdir(mode=0o700)
    check_private(rundir)
    policy = loaded.policy_values()
    write_json_atomic(rundir / "config.json", {
        "config": cfg.model_dump(mode="json"), "applied": loaded.applied(),
        "policy_health_check_interval_s": policy.route53.health_check.interval_s,
        "policy_alarm_period_s": policy.route53.health_check.alarm.period_s,
        "posture": posture or cfg.sandbox.posture, "localstack": localstack})
    out = open(rundir / "supervisor.out", "ab")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # glibc gives each thread that allocates at once an arena of its own (up to 8 a core) and keeps
    # what a burst grew in each; the twin and its data plane serve every request on a thread of
    # their own. (bench/soak.py: the data plane's level after an outage ranged from 142 to 175 MB over
    # five runs with and without this cap; no effect shown beyond that noise)
    env.setdefault("MALLOC_ARENA_MAX", "2")
    proc = subprocess.Popen([sys.executable, "-m", SUPERVISOR_MODULE, str(rundir)], stdout=out, stderr=out,
                            stdin=subprocess.DEVNULL, start_new_session=True, env=env, cwd=str(REPO_ROOT))
    out.close()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = read_state()
        if on_step is not None and state:
            on_step(dict(state.get("timings") or {}))  # the start-up parts done so far
        if state and state.get("phase") == "running":
            return Twin(state), True
        if state and state.get("phase") == "failed" or proc.poll() is not None:
            state = read_state() or {}
            error = str(state.get("error") or _tail(rundir / "supervisor.out"))
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
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
    """After a hard kill of the supervisor its MariaDB servers and data plane may still run: stop
    exactly those (a pid is signalled only if its command line names this runtime directory)."""
    for pidfile in list(rundir.glob("mysql/*.pid")) + list(rundir.glob("*.pid")):
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            continue
        signal_if(pid, (str(rundir),), signal.SIGKILL)


def status() -> dict[str, Any] | None:
    state = running_state()
    if not state:
        return None
    try:
        return Twin(state).status()
    except (OSError, RuntimeError):
        state["healthy"] = False
        state["error"] = "control API not answering"
        return state


def down(timeout_s: float = 30.0) -> bool:
    """Stop the twin; leaves no process, port or runtime directory. Returns whether one ran."""
    rundir = runtime_dir()
    if not rundir.exists():
        return False
    check_private(rundir)
    state = read_state()
    pid = int(state.get("pid", 0)) if state else 0
    if signal_if(pid, (SUPERVISOR_MODULE, str(rundir)), signal.SIGTERM):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and pid_alive(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        if pid_alive(pid):
            signal_if(pid, (SUPERVISOR_MODULE, str(rundir)), signal.SIGKILL)
    _kill_leftovers(rundir)
    shutil.rmtree(rundir, ignore_errors=True)
    return True
