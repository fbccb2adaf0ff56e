"""Load workers as a Kubernetes Deployment (``load.mode: kubernetes``), through the official client
in the DR cluster: the namespace (created if missing, then removed with the workers unless another drill's
workers are in it), the
Deployment of ``load.workers`` locust workers that connect to the drill's master, and its removal
at the end of the drill or by ``drill rollback``. Every call is journaled (durably) before it is
made, so a hard kill leaves what rollback needs to remove.
"""

from __future__ import annotations

import json
from typing import Any, cast

from drill.core.journal import Event, Journal
from drill.core.waits import wait_until
from drill.targets.base import Target

ROLE = "dr"  # the cluster the config validates load.kubernetes.cluster against
APP_LABEL = "drill-load-worker"


def deployment_name(drill_id: str) -> str:
    return f"drill-load-{drill_id.rsplit('-', 1)[-1]}"


def manifest(target: Target, drill_id: str, master_port: int, profile: dict[str, Any]) -> dict[str, Any]:
    lc = target.cfg.load
    k = lc.kubernetes
    assert k is not None
    labels = {"app.kubernetes.io/name": APP_LABEL, "drill.dev/drill-id": drill_id}
    resources = {"cpu": k.cpu, "memory": k.memory}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": deployment_name(drill_id), "namespace": k.namespace, "labels": labels},
        "spec": {"replicas": lc.workers, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"terminationGracePeriodSeconds": 5, "containers": [{
                "name": "worker", "image": k.image, "command": ["locust"],
                "args": ["-f", k.locustfile, "--worker", "--master-host", k.master_host or lc.master_bind_host,
                         "--master-port", str(master_port), "--loglevel", "WARNING"],
                "env": [{"name": "DRILL_PROFILE", "value": json.dumps(profile)}],
                "resources": {"requests": resources, "limits": resources}}]}}},
    }


def _call(journal: Journal | None, target: Target, operation: str, **what: Any) -> None:
    if journal is not None:
        journal.write("k8s_call", durable=True, cluster=target.cfg.side(ROLE).cluster.cluster,
                      operation=operation, **what)


def deploy(target: Target, journal: Journal, drill_id: str, master_port: int, profile: dict[str, Any],
           state: dict[str, Any]) -> None:
    """The workers' Deployment created (and its namespace, if missing). ``state`` is filled as it
    goes (deployment, namespace, namespace_created), so what a failure half-way made is removed too."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    k = target.cfg.load.kubernetes
    assert k is not None
    body = manifest(target, drill_id, master_port, profile)
    name = body["metadata"]["name"]
    core, apps = client.CoreV1Api(target.kube(ROLE)), client.AppsV1Api(target.kube(ROLE))  # a bad kubeconfig: nothing made
    state.update(deployment=name, namespace=k.namespace, namespace_created=False)
    journal.write("load_workers_deploying", durable=True, cluster=k.cluster, namespace=k.namespace, deployment=name)
    try:
        core.read_namespace(k.namespace, _request_timeout=10)
    except ApiException as exc:
        if exc.status != 404:
            raise
        _call(journal, target, "create_namespace", namespace=k.namespace)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=k.namespace, labels={"drill.dev/drill-id": drill_id})), _request_timeout=10)
        state["namespace_created"] = True  # made by this drill: removed with its workers
        journal.write("load_workers_namespace_created", durable=True, namespace=k.namespace)
    _call(journal, target, "create_namespaced_deployment", namespace=k.namespace, deployment=name,
          replicas=target.cfg.load.workers, image=k.image)
    apps.create_namespaced_deployment(k.namespace, cast(Any, body), _request_timeout=10)  # the API takes a dict


def worker_pods(target: Target, namespace: str, drill_id: str) -> int:
    from kubernetes import client

    pods = client.CoreV1Api(target.kube(ROLE)).list_namespaced_pod(
        namespace, label_selector=f"app.kubernetes.io/name={APP_LABEL},drill.dev/drill-id={drill_id}",
        _request_timeout=10).items
    return len(pods)


def remove(target: Target, journal: Journal | None, drill_id: str, namespace: str, deployment: str,
           namespace_created: bool, deadline_s: float, interval_s: float) -> None:
    """The Deployment deleted (and the namespace, if the drill created it and no other drill's
    workers are in it), until no worker pod of
    this drill is left. A Deployment already gone is fine (a rollback after a removal that was cut short)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core, apps = client.CoreV1Api(target.kube(ROLE)), client.AppsV1Api(target.kube(ROLE))
    _call(journal, target, "delete_namespaced_deployment", namespace=namespace, deployment=deployment)
    try:
        apps.delete_namespaced_deployment(deployment, namespace, _request_timeout=10)
    except ApiException as exc:
        if exc.status != 404:
            raise
    try:
        wait_until(lambda: worker_pods(target, namespace, drill_id) == 0, deadline_s,
                   f"the load workers of {deployment} gone", interval_s)
    except ApiException as exc:
        if exc.status != 404:
            raise
    others = [] if not namespace_created else [
        d.metadata.name for d in apps.list_namespaced_deployment(namespace, _request_timeout=10).items
        if d.metadata is not None and d.metadata.name != deployment]
    if namespace_created and not others:  # another drill's workers there keep it
        _call(journal, target, "delete_namespace", namespace=namespace)
        try:
            core.delete_namespace(namespace, _request_timeout=10)
        except ApiException as exc:
            if exc.status != 404:
                raise
    if journal is not None:
        journal.write("load_workers_removed", durable=True, deployment=deployment, namespace=namespace)


def left_behind(events: list[Event]) -> list[dict[str, Any]]:
    """Worker Deployments a journal shows deployed and not removed, with whether it created their namespace."""
    out: dict[str, dict[str, Any]] = {}
    created: set[str] = set()
    for ev in events:
        if ev.event == "load_workers_deploying":
            out[str(ev.get("deployment"))] = {"namespace": str(ev.get("namespace")),
                                              "deployment": str(ev.get("deployment"))}
        elif ev.event == "load_workers_namespace_created":  # the fact, journaled after the call succeeded
            created.add(str(ev.get("namespace")))
        elif ev.event == "load_workers_removed":
            out.pop(str(ev.get("deployment")), None)
    return [dict(w, namespace_created=w["namespace"] in created) for w in out.values()]

