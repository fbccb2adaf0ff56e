"""The object store of one cluster: what its API server serves and its reconciler changes."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import threading
import time
import uuid
from typing import Any

List = list  # Cluster.list shadows the builtin inside the class body

RESOURCES = {
    # plural: (group_version, kind, namespaced, short names)
    "pods": ("v1", "Pod", True, ["po"]),
    "nodes": ("v1", "Node", False, ["no"]),
    "namespaces": ("v1", "Namespace", False, ["ns"]),
    "configmaps": ("v1", "ConfigMap", True, ["cm"]),
    "deployments": ("apps/v1", "Deployment", True, ["deploy"]),
    "daemonsets": ("apps/v1", "DaemonSet", True, ["ds"]),
    "ingresses": ("networking.k8s.io/v1", "Ingress", True, ["ing"]),
}
WORKLOADS = ("deployments", "daemonsets")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Cluster:
    """The objects of one cluster, versioned; every change bumps the resource version."""

    def __init__(self, name: str, region: str, version: str):
        self.name = name
        self.region = region
        self.version = version
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._rv = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        for ns in ("default", "kube-system"):
            self.put("namespaces", "", {"metadata": {"name": ns}, "spec": {}, "status": {"phase": "Active"}})

    def next_rv(self) -> str:
        return str(next(self._rv))

    def event(self, kind: str, **data: Any) -> None:
        self.events.append({"at": time.time(), "event": kind, **data})
        del self.events[:-2000]

    def put(self, resource: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        gv, kind, namespaced, _ = RESOURCES[resource]
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_iso())
        meta.setdefault("labels", {})
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = self.next_rv()
        if namespaced:
            meta["namespace"] = namespace
        obj["apiVersion"], obj["kind"] = gv, kind
        with self.lock:
            self.objects[(resource, namespace if namespaced else "", meta["name"])] = obj
        return obj

    def list(self, resource: str, namespace: str | None = None) -> List[dict[str, Any]]:
        with self.lock:
            return [o for (r, ns, _), o in self.objects.items()
                    if r == resource and (namespace is None or ns == namespace)]

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((resource, namespace if RESOURCES[resource][2] else "", name))

    def delete(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            gone = self.objects.pop((resource, namespace if RESOURCES[resource][2] else "", name), None)
            if gone is not None and resource in WORKLOADS:  # cascading delete of its pods
                uid = gone["metadata"]["uid"]
                for pod in self.list("pods", namespace):
                    if any(o.get("uid") == uid for o in pod["metadata"].get("ownerReferences", [])):
                        self.objects.pop(("pods", namespace, pod["metadata"]["name"]), None)
        return gone

    # ------------------------------------------------------------------ seed

    def add_workload(self, resource: str, name: str, namespace: str, image: str, replicas: int = 1,
                     port: int | None = None, service: str | None = None) -> None:
        labels = {"app": name}
        container: dict[str, Any] = {"name": name, "image": image}
        if port:
            container["ports"] = [{"containerPort": port, "protocol": "TCP"}]
        spec: dict[str, Any] = {"selector": {"matchLabels": labels},
                                "template": {"metadata": {"labels": dict(labels)},
                                             "spec": {"containers": [container]}}}
        if resource == "deployments":
            spec.update(replicas=replicas, strategy={"type": "RollingUpdate"})
        self.put(resource, namespace, {
            "metadata": {"name": name, "labels": dict(labels),
                         "annotations": {"drill/service": service or name}},
            "spec": spec, "status": {}})

    def add_simple(self, resource: str, namespace: str, name: str, body: dict[str, Any]) -> None:
        self.put(resource, namespace, {"metadata": {"name": name}, **copy.deepcopy(body)})
