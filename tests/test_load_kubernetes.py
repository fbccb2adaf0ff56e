"""Load in the Kubernetes mode (``load.mode: kubernetes``) against the twin's API, as on a cluster:
the drill creates a Deployment of locust workers in the DR cluster (and its namespace), the twin's
kubelet runs each Ready pod as a local worker process, and the workers stream their records to the
drill's master. After a hard kill the Deployment, its namespace and the worker processes are gone
once `drill rollback` ran (with the drill's canary objects, the copies still replicating at the kill
included). A whole drill with its load as pods, removed at its end, is the aws path's quarterly run
(tests/test_aws_path.py: the account's drill, where load from a cluster is what one would use)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as kconfig

from tests.conftest import CFG, client, drill, events_of, only_drill, start_drill, wait_journal

K8S = CFG.load.kubernetes
assert K8S is not None
NONE_LEFT = {"deployments": [], "namespaces": [], "workers": []}
MODE = ["--set", "load.mode=kubernetes", "--set", "load.workers=2", "--set", "load.master_port=0"]


def _api(env: dict[str, str]) -> tuple[Any, Any]:
    api = kconfig.new_client_from_config(env["KUBECONFIG"], context=CFG.eks.dr.cluster)
    return k8s.AppsV1Api(api), k8s.CoreV1Api(api)


def workers_left(env: dict[str, str], twin_pid: int) -> dict[str, Any]:
    """What of the load workers is on the cluster, and running as the pods of the twin ``twin_pid``."""
    apps, core = _api(env)
    deployments = [d.metadata.name for d in apps.list_deployment_for_all_namespaces().items
                   if (d.metadata.labels or {}).get("app.kubernetes.io/name") == "drill-load-worker"]
    namespaces = [n.metadata.name for n in core.list_namespace().items if n.metadata.name == K8S.namespace]
    workers = [pid for pid, (ppid, args) in _processes().items()
               if ppid == twin_pid and "locust" in args and "--worker" in args]
    return {"deployments": deployments, "namespaces": namespaces, "workers": workers}


def _processes() -> dict[int, tuple[int, list[str]]]:
    """Every live process: its parent and its whole command line (ps truncates it when piped)."""
    out = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            stat = (proc / "stat").read_text()
            args = [a.decode(errors="replace") for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            out[int(proc.name)] = (int(ppid), args)
    return out


def _until(check: Any, what: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, what
        time.sleep(0.3)


def test_a_hard_kill_leaves_the_workers_to_drill_rollback(sandbox_env: dict[str, str], account: dict[str, str],
                                                          twin: Any, tmp_path: Path) -> None:
    twin_pid = int(twin.state["pid"])
    assert workers_left(account, twin_pid) == NONE_LEFT  # what is found later is this drill's
    proc = start_drill(["run", "--cadence", "quarterly", "--reports", str(tmp_path), *MODE], sandbox_env)
    try:
        wait_journal(tmp_path, proc, lambda e: e.event == "k8s_call" and e.get("operation") ==
                     "create_namespaced_deployment", "the workers' deployment", timeout=120)
        _until(lambda: len(workers_left(account, twin_pid)["workers"]) == 2, "two worker processes started by the twin's kubelet")
        folder = only_drill(tmp_path)
        _until(lambda: (folder / "load" / "requests.csv.gz").exists()
               and (folder / "load" / "requests.csv.gz").stat().st_size > 0, "requests logged by the master")
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    master = next(e for e in events_of(folder) if e.event == "load_started").get("pids")[0]
    _until(lambda: master not in _processes(), "the locust master ending with the drill that started it")
    left = workers_left(account, twin_pid)
    assert left["deployments"] and left["namespaces"], left  # a hard kill removes nothing
    res = drill("rollback", "--reports", str(tmp_path), env=sandbox_env, timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr
    _until(lambda: workers_left(account, twin_pid) == NONE_LEFT,
           f"the workers removed by the rollback: {workers_left(account, twin_pid)}")
    assert any(e.event == "load_workers_removed" for e in events_of(folder))
    # the canary objects written just before the kill are gone from both regions, the copies that
    # were still replicating when the rollback deleted the originals included
    prefix = f"drill-canary/{folder.name}/"
    for role in ("primary", "dr"):
        s3 = client(account, "s3", CFG.side(role).region)
        for bucket in CFG.side(role).buckets:
            assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0) == 0, (role, bucket)
