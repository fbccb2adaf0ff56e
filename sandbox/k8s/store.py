"""A focused Kubernetes API server per cluster, plus the reconciler that plays the kubelet.

It serves what the harness, the official kubernetes client and ``kubectl`` use: discovery,
list/get (label and field selectors, Table output for kubectl), PATCH/PUT of deployments and
their scale subresource, pod deletion. The reconciler keeps pods = replicas, schedules them on
nodes (node count follows the EKS node group's desired size through the EKS API), and makes a
pod Ready only after its start time on a Ready node while its region's service is up.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sandbox.httpserver import Request, Response

List = list  # Cluster.list shadows the builtin inside the class body

RESOURCES = {
    # plural: (group_version, kind, namespaced, short names)
    "pods": ("v1", "Pod", True, ["po"]),
    "nodes": ("v1", "Node", False, ["no"]),
    "namespaces": ("v1", "Namespace", False, ["ns"]),
    "configmaps": ("v1", "ConfigMap", True, ["cm"]),
    "deployments": ("apps/v1", "Deployment", True, ["deploy"]),
    "ingresses": ("networking.k8s.io/v1", "Ingress", True, ["ing"]),
}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(ts: str) -> str:
    created = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    secs = int((dt.datetime.now(dt.UTC) - created).total_seconds())
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    return f"{secs // 3600}h"


def _merge(dst: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge patch (RFC 7386); strategic merge patches of the fields we use behave the same."""
    for k, v in patch.items():
        if v is None:
            dst.pop(k, None)
        elif isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


def _status(code: int, reason: str, message: str) -> Response:
    return Response.json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": message, "reason": reason, "code": code}, code)


class Cluster:
    """The object store and reconciler of one cluster."""

    def __init__(self, name: str, region: str, version: str, cidr_prefix: str, pods_per_node: int,
                 pod_start_s: float, node_start_s: float,
                 service_up: Callable[[str], bool], desired_nodes: Callable[[], int | None]):
        self.name = name
        self.region = region
        self.version = version
        self.cidr_prefix = cidr_prefix
        self.pods_per_node = pods_per_node
        self.pod_start_s = pod_start_s
        self.node_start_s = node_start_s
        self.service_up = service_up
        self.desired_nodes = desired_nodes
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._rv = itertools.count(1)
        self._born: dict[str, float] = {}  # uid -> monotonic time it was scheduled / created
        self._node_seq = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        for ns in ("default", "kube-system"):
            self.put("namespaces", "", {"metadata": {"name": ns}, "spec": {}, "status": {"phase": "Active"}})

    # ------------------------------------------------------------------ store

    def put(self, resource: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        gv, kind, namespaced, _ = RESOURCES[resource]
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        meta.setdefault("labels", {})
        meta["resourceVersion"] = str(next(self._rv))
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
            return self.objects.pop((resource, namespace if RESOURCES[resource][2] else "", name), None)

    # ------------------------------------------------------------------ seed

    def add_deployment(self, name: str, namespace: str, replicas: int, service: str, port: int | None) -> None:
        labels = {"app": name}
        container: dict[str, Any] = {"name": name, "image": f"{service}:sandbox"}
        if port:
            container["ports"] = [{"containerPort": port, "protocol": "TCP"}]
        self.put("deployments", namespace, {
            "metadata": {"name": name, "labels": dict(labels), "annotations": {"drill/service": service}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
                     "strategy": {"type": "RollingUpdate"}},
            "status": {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "updatedReplicas": 0,
                       "observedGeneration": 1},
        })

    def add_simple(self, resource: str, namespace: str, name: str, body: dict[str, Any]) -> None:
        self.put(resource, namespace, {"metadata": {"name": name}, **body})

    # ------------------------------------------------------------------ reconcile

    def reconcile(self) -> None:
        with self.lock:
            self._reconcile_nodes()
            self._reconcile_pods()

    def _reconcile_nodes(self) -> None:
        desired = self.desired_nodes()
        nodes = sorted(self.list("nodes"), key=lambda n: n["metadata"]["creationTimestamp"] + n["metadata"]["name"])
        if desired is None:
            desired = len(nodes)
        while len(nodes) < desired:
            seq = next(self._node_seq)
            name = f"ip-{self.cidr_prefix}-{2 + seq % 2 * 10}-{100 + seq}.{self.region}.compute.internal"
            node = self.put("nodes", "", {
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                      "topology.kubernetes.io/region": self.region,
                                                      "eks.amazonaws.com/nodegroup": "drill"}},
                "spec": {},
                "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}],
                           "capacity": {"pods": str(self.pods_per_node)},
                           "allocatable": {"pods": str(self.pods_per_node)},
                           "addresses": [{"type": "InternalIP", "address": f"{self.cidr_prefix.replace('-', '.')}.2.{100 + seq}"},
                                         {"type": "Hostname", "address": name}],
                           "nodeInfo": {"kubeletVersion": f"v{self.version}.0-eks", "kubeProxyVersion": f"v{self.version}.0-eks",
                                        "architecture": "amd64", "bootID": str(uuid.uuid4()),
                                        "containerRuntimeVersion": "containerd://1.7.27",
                                        "kernelVersion": "6.1.0-amazon", "machineID": uuid.uuid4().hex,
                                        "operatingSystem": "linux", "osImage": "Amazon Linux 2023",
                                        "systemUUID": str(uuid.uuid4())}},
            })
            self._born[node["metadata"]["uid"]] = time.monotonic()
            nodes.append(node)
            self.events.append({"at": time.time(), "event": "node_added", "node": name})
        while len(nodes) > desired:
            gone = nodes.pop()
            self.delete("nodes", "", gone["metadata"]["name"])
            for pod in self.list("pods"):
                if pod["spec"].get("nodeName") == gone["metadata"]["name"]:
                    self.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
            self.events.append({"at": time.time(), "event": "node_removed", "node": gone["metadata"]["name"]})
        now = time.monotonic()
        for node in nodes:
            ready = now - self._born.get(node["metadata"]["uid"], 0) >= self.node_start_s
            cond = node["status"]["conditions"][0]
            want = "True" if ready else "False"
            if cond["status"] != want:
                cond.update(status=want, reason="KubeletReady" if ready else "KubeletNotReady")
                node["metadata"]["resourceVersion"] = str(next(self._rv))

    def _ready_nodes(self) -> List[str]:
        return [n["metadata"]["name"] for n in self.list("nodes")
                if n["status"]["conditions"][0]["status"] == "True"]

    def _reconcile_pods(self) -> None:
        now = time.monotonic()
        ready_nodes = self._ready_nodes()
        load = {n: 0 for n in ready_nodes}
        for pod in self.list("pods"):
            node = pod["spec"].get("nodeName")
            if node in load:
                load[node] += 1
        for dep in self.list("deployments"):
            ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
            service = dep["metadata"].get("annotations", {}).get("drill/service", name)
            pods = [p for p in self.list("pods", ns) if p["metadata"]["labels"].get("app") == name]
            want = int(dep["spec"].get("replicas", 0))
            for extra in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"])[want:]:
                self.delete("pods", ns, extra["metadata"]["name"])
                if extra["spec"].get("nodeName") in load:
                    load[extra["spec"]["nodeName"]] -= 1
            pods = pods[:want]
            for _ in range(want - len(pods)):
                suffix = uuid.uuid4().hex[:5]
                pod = self.put("pods", ns, {
                    "metadata": {"name": f"{name}-{uuid.uuid4().hex[:9]}-{suffix}", "labels": {"app": name},
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                      "name": name, "uid": dep["metadata"]["uid"]}]},
                    "spec": copy.deepcopy(dep["spec"]["template"]["spec"]),
                    "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]},
                })
                pods.append(pod)
            up = self.service_up(service)
            ready_count = 0
            for pod in pods:
                node = pod["spec"].get("nodeName")
                if node not in load:  # unscheduled, or its node is gone / not ready
                    target = min((n for n in ready_nodes if load[n] < self.pods_per_node),
                                 key=lambda n: load[n], default=None)
                    if target is not None:
                        pod["spec"]["nodeName"] = target
                        load[target] += 1
                        self._born[pod["metadata"]["uid"]] = now
                        node = target
                started = node in load and now - self._born.get(pod["metadata"]["uid"], now) >= self.pod_start_s
                phase = "Running" if started else "Pending"
                ready = started and up
                status = pod["status"]
                want_ready = "True" if ready else "False"
                if status["phase"] != phase or status["conditions"][0]["status"] != want_ready:
                    status["phase"] = phase
                    status["conditions"][0]["status"] = want_ready
                    status["containerStatuses"] = [{"name": c["name"], "ready": ready, "restartCount": 0,
                                                    "image": c.get("image", ""), "imageID": "",
                                                    "started": started}
                                                   for c in pod["spec"]["containers"]]
                    if started:
                        status.setdefault("startTime", _now())
                    pod["metadata"]["resourceVersion"] = str(next(self._rv))
                ready_count += int(ready)
            st = dep["status"]
            new = {"replicas": len(pods), "readyReplicas": ready_count, "availableReplicas": ready_count,
                   "updatedReplicas": len(pods), "unavailableReplicas": max(0, want - ready_count)}
            if any(st.get(k) != v for k, v in new.items()):
                st.update(new)
                st["conditions"] = [{"type": "Available", "status": "True" if ready_count >= want else "False",
                                     "reason": "MinimumReplicasAvailable" if ready_count >= want
                                     else "MinimumReplicasUnavailable"}]
                dep["metadata"]["resourceVersion"] = str(next(self._rv))

    def available(self, deployment: str, namespace: str) -> int:
        dep = self.get("deployments", namespace, deployment)
        return int(dep["status"].get("availableReplicas", 0)) if dep else 0


# ---------------------------------------------------------------------- API


def _selector_match(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        m = re.match(r"^([\w./-]+)\s*(!=|==|=)\s*([\w./-]*)$", term)
        if m:
            key, op, val = m.groups()
            if (labels.get(key) == val) != (op != "!="):
                return False
            continue
        m = re.match(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$", term)
        if m:
            key, op, vals = m.groups()
            inside = labels.get(key) in {v.strip() for v in vals.split(",")}
            if inside != (op == "in"):
                return False
            continue
        if term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _field(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def _field_match(obj: dict[str, Any], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        m = re.match(r"^([\w.]+)\s*(!=|==|=)\s*(.*)$", term)
        if not m:
            return False
        key, op, val = m.groups()
        actual = _field(obj, key)
        if (str(actual) == val if actual is not None else val == "") != (op != "!="):
            return False
    return True


def _row(resource: str, obj: dict[str, Any]) -> list[Any]:
    meta, st, spec = obj["metadata"], obj.get("status", {}), obj.get("spec", {})
    age = _age(meta["creationTimestamp"])
    if resource == "pods":
        cs = st.get("containerStatuses", [])
        ready = sum(1 for c in cs if c.get("ready"))
        return [meta["name"], f"{ready}/{len(spec.get('containers', []))}", st.get("phase", ""), 0, age,
                spec.get("nodeName", "<none>")]
    if resource == "deployments":
        return [meta["name"], f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
                st.get("updatedReplicas", 0), st.get("availableReplicas", 0), age]
    if resource == "nodes":
        ready = st["conditions"][0]["status"] == "True"
        return [meta["name"], "Ready" if ready else "NotReady", "<none>", age, st["nodeInfo"]["kubeletVersion"]]
    return [meta["name"], age]


COLUMNS = {
    "pods": ["Name", "Ready", "Status", "Restarts", "Age", "Node"],
    "deployments": ["Name", "Ready", "Up-to-date", "Available", "Age"],
    "nodes": ["Name", "Status", "Roles", "Age", "Version"],
}


def _table(resource: str, items: list[dict[str, Any]], rv: str) -> dict[str, Any]:
    cols = COLUMNS.get(resource, ["Name", "Age"])
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
        "columnDefinitions": [{"name": c, "type": "string", "format": "name" if c == "Name" else "",
                               "description": c, "priority": 1 if c == "Node" else 0} for c in cols],
        "rows": [{"cells": _row(resource, o), "object": {
            "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}}
            for o in items],
    }


def _discovery_resources(gv: str) -> list[dict[str, Any]]:
    out = []
    for plural, (group_version, kind, namespaced, short) in RESOURCES.items():
        if group_version != gv:
            continue
        verbs = ["get", "list"] + (["patch", "update"] if plural == "deployments" else []) + (
            ["delete"] if plural == "pods" else [])
        out.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                    "verbs": verbs, "shortNames": short})
        if plural == "deployments":
            out.append({"name": "deployments/scale", "singularName": "", "namespaced": True,
                        "group": "autoscaling", "version": "v1", "kind": "Scale",
                        "verbs": ["get", "patch", "update"]})
    return out


PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[\w.]+)/(?P<version>v1))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<res>[a-z]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>scale|status))?$"
)


def make_app(cluster: Cluster) -> Callable[[Request], Response]:
    def app(req: Request) -> Response:
        path = req.path.rstrip("/") or "/"
        if path == "/version":
            return Response.json({"major": "1", "minor": cluster.version.split(".")[1],
                                  "gitVersion": f"v{cluster.version}.0-drill-sandbox", "platform": "linux/amd64"})
        if path in ("/healthz", "/readyz", "/livez"):
            return Response.text("ok")
        if path == "/api":
            return Response.json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        if path == "/apis":
            groups = [{"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                       "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}}
                      for g in ("apps", "networking.k8s.io")]
            return Response.json({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if path in ("/api/v1", "/apis/apps/v1", "/apis/networking.k8s.io/v1"):
            gv = "v1" if path == "/api/v1" else path[len("/apis/"):]
            return Response.json({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                  "resources": _discovery_resources(gv)})
        m = PATH.match(path)
        if not m or m["res"] not in RESOURCES:
            return _status(404, "NotFound", f"the server could not find the requested resource ({path})")
        res, ns, name, sub = m["res"], m["ns"], m["name"], m["sub"]
        gv = m["core"] or f"{m['group']}/{m['version']}"
        if RESOURCES[res][0] != gv:
            return _status(404, "NotFound", f"{res} is not served by {gv}")
        namespaced = RESOURCES[res][2]
        if namespaced and ns is None and name is not None:
            return _status(404, "NotFound", "namespace required")
        if ns is not None and not cluster.get("namespaces", "", ns):
            return _status(404, "NotFound", f'namespaces "{ns}" not found')
        if name is None:
            if req.method != "GET":
                return _status(405, "MethodNotAllowed", "only GET on collections")
            return _list(cluster, req, res, ns)
        obj = cluster.get(res, ns or "", name)
        if obj is None:
            return _status(404, "NotFound", f'{res} "{name}" not found')
        if sub == "scale" and res == "deployments":
            return _scale(cluster, req, obj)
        if req.method == "GET":
            return Response.json(obj)
        if req.method in ("PATCH", "PUT") and res == "deployments":
            body = req.json()
            with cluster.lock:
                if req.method == "PUT":
                    obj["spec"] = body.get("spec", obj["spec"])
                else:
                    _merge(obj, {k: v for k, v in body.items() if k in ("spec", "metadata")})
                obj["metadata"]["resourceVersion"] = str(next(cluster._rv))
                obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
            cluster.reconcile()
            return Response.json(obj)
        if req.method == "DELETE" and res == "pods":
            gone = cluster.delete(res, ns or "", name)
            cluster.events.append({"at": time.time(), "event": "pod_deleted", "pod": name})
            return Response.json(gone)
        return _status(405, "MethodNotAllowed", f"{req.method} not supported on {res}")

    return app


def _list(cluster: Cluster, req: Request, res: str, ns: str | None) -> Response:
    items = cluster.list(res, ns)
    if (sel := req.arg("labelSelector")):
        items = [o for o in items if _selector_match(o["metadata"].get("labels", {}), sel)]
    if (fsel := req.arg("fieldSelector")):
        items = [o for o in items if _field_match(o, fsel)]
    items = sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    rv = str(next(cluster._rv))
    if "as=Table" in req.headers.get("accept", ""):
        return Response.json(_table(res, items, rv),
                             headers={"Content-Type": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    gv, kind, _, _ = RESOURCES[res]
    return Response.json({"kind": f"{kind}List", "apiVersion": gv, "metadata": {"resourceVersion": rv},
                          "items": items})


def _scale(cluster: Cluster, req: Request, dep: dict[str, Any]) -> Response:
    if req.method in ("PATCH", "PUT"):
        body = req.json()
        replicas = body.get("spec", {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            return _status(422, "Invalid", "spec.replicas must be a non-negative integer")
        with cluster.lock:
            dep["spec"]["replicas"] = replicas
            dep["metadata"]["resourceVersion"] = str(next(cluster._rv))
        cluster.reconcile()
    elif req.method != "GET":
        return _status(405, "MethodNotAllowed", "scale supports GET, PATCH, PUT")
    meta = dep["metadata"]
    return Response.json({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                     "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
        "spec": {"replicas": dep["spec"]["replicas"]},
        "status": {"replicas": dep["status"].get("replicas", 0), "selector": f"app={meta['name']}"},
    })


def kubeconfig(clusters: dict[str, str]) -> str:
    """A kubeconfig whose contexts are named after the clusters; ``clusters`` maps name -> URL."""
    import yaml

    names = list(clusters)
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": n, "cluster": {"server": u}} for n, u in clusters.items()],
        "users": [{"name": f"{n}-user", "user": {"token": "sandbox"}} for n in names],
        "contexts": [{"name": n, "context": {"cluster": n, "user": f"{n}-user", "namespace": "default"}}
                     for n in names],
        "current-context": names[0],
    }, sort_keys=False)
