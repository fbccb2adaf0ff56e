"""The twin's kubelet for the drill's load workers (``load.mode: kubernetes``): a pod labelled
``app.kubernetes.io/name=drill-load-worker`` runs as a local process once it is Ready, the
container's own command line (``locust`` and the pod's arguments, the repository's locustfile in
place of the image's path) with the pod's environment, and is stopped when the pod goes away (its
Deployment deleted, its node removed) or the twin stops. Other pods run nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from drill.core.paths import LOAD_DIR

APP_LABEL = "drill-load-worker"
LOCUSTFILE = LOAD_DIR / "locustfile.py"


class LoadWorkerPods:
    def __init__(self, rundir: Path):
        self.rundir = rundir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def on_pod(self, name: str, pod: dict[str, Any] | None) -> None:
        if pod is None:
            with self._lock:
                proc = self.procs.pop(name, None)
            if proc is not None:  # not in the reconciler's thread: a worker may take a moment to stop
                threading.Thread(target=_stop, args=(proc,), name=f"stop-{name}", daemon=True).start()
            return
        if (pod["metadata"].get("labels") or {}).get("app.kubernetes.io/name") != APP_LABEL:
            return
        container = pod["spec"]["containers"][0]
        args = [str(a) for a in container.get("args") or []]
        if "-f" in args[:-1]:
            args[args.index("-f") + 1] = str(LOCUSTFILE)
        command = [str(c) for c in container.get("command") or ["locust"]]
        if command[0] != "locust":
            return  # an image the twin does not know how to run
        env = dict(os.environ)
        env.update({str(e["name"]): str(e.get("value", "")) for e in container.get("env") or []})
        env.update(DRILL_PARENT_PID=str(os.getpid()), DRILL_REQUEST_LOG="")  # a worker logs through its master
        with open(self.rundir / f"pod-{name}.out", "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "locust", *command[1:], *args], stdout=out,
                                    stderr=out, env=env, stdin=subprocess.DEVNULL)
        with self._lock:
            self.procs[name] = proc

    def stop(self) -> None:
        with self._lock:
            procs, self.procs = list(self.procs.values()), {}
        for proc in procs:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
