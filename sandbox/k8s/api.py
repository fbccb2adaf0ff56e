"""The HTTP API of one cluster: what the official client and kubectl use.

Discovery, list and get (label and field selectors, Table output for kubectl), create, PUT,
PATCH (JSON merge, and strategic merge for container lists: ``kubectl set image``), DELETE
(deployments and daemonsets cascade to their pods), and the scale subresource (``kubectl
scale``). Every change runs the reconciler at once.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from sandbox.httpserver import Request, Response
from sandbox.k8s.reconciler import Reconciler
from sandbox.k8s.store import RESOURCES, WORKLOADS, Cluster

CREATABLE = {"namespaces", "deployments", "daemonsets", "configmaps", "ingresses"}
DELETABLE = {"pods", "deployments", "daemonsets", "configmaps", "namespaces", "ingresses"}
PATCHABLE = {"deployments", "daemonsets", "configmaps", "nodes"}


def _status(code: int, reason: str, message: str) -> Response:
    return Response.json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": message, "reason": reason, "code": code}, code)


def _age(ts: str) -> str:
    created = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    secs = int((dt.datetime.now(dt.UTC) - created).total_seconds())
    return f"{secs}s" if secs < 120 else f"{secs // 60}m" if secs < 7200 else f"{secs // 3600}h"


def merge(dst: dict[str, Any], patch: dict[str, Any], strategic: bool = False) -> dict[str, Any]:
    """JSON merge patch (RFC 7386); ``strategic`` merges lists of named objects by name (containers)."""
    for k, v in patch.items():
        if v is None:
            dst.pop(k, None)
        elif isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v, strategic)
        elif strategic and isinstance(v, list) and isinstance(dst.get(k), list) and all(
                isinstance(i, dict) and "name" in i for i in v + dst[k]):
            by_name = {i["name"]: i for i in dst[k]}
            for item in v:
                if item["name"] in by_name:
                    merge(by_name[item["name"]], item, strategic)
                else:
                    dst[k].append(copy.deepcopy(item))
        else:
            dst[k] = copy.deepcopy(v)
    return dst


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
            if (labels.get(key) in {v.strip() for v in vals.split(",")}) != (op == "in"):
                return False
            continue
        if (term[1:] in labels) if term.startswith("!") else (term not in labels):
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


COLUMNS = {"pods": ["Name", "Ready", "Status", "Restarts", "Age", "Node"],
           "deployments": ["Name", "Ready", "Up-to-date", "Available", "Age"],
           "daemonsets": ["Name", "Desired", "Current", "Ready", "Age"],
           "nodes": ["Name", "Status", "Roles", "Age", "Version"]}


def _row(resource: str, obj: dict[str, Any]) -> list[Any]:
    meta, st, spec = obj["metadata"], obj.get("status", {}), obj.get("spec", {})
    age = _age(meta["creationTimestamp"])
    if resource == "pods":
        cs = st.get("containerStatuses", [])
        waiting = next((c["state"]["waiting"]["reason"] for c in cs if c.get("state", {}).get("waiting")), None)
        return [meta["name"], f"{sum(1 for c in cs if c.get('ready'))}/{len(spec.get('containers', []))}",
                waiting or st.get("phase", ""), sum(c.get("restartCount", 0) for c in cs), age,
                spec.get("nodeName", "<none>")]
    if resource == "deployments":
        return [meta["name"], f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
                st.get("updatedReplicas", 0), st.get("availableReplicas", 0), age]
    if resource == "daemonsets":
        return [meta["name"], st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0),
                st.get("numberReady", 0), age]
    if resource == "nodes":
        ready = st["conditions"][0]["status"] == "True"
        return [meta["name"], "Ready" if ready else "NotReady", "<none>", age, st["nodeInfo"]["kubeletVersion"]]
    return [meta["name"], age]


def _table(resource: str, items: list[dict[str, Any]], rv: str) -> dict[str, Any]:
    cols = COLUMNS.get(resource, ["Name", "Age"])
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
            "columnDefinitions": [{"name": c, "type": "string", "format": "name" if c == "Name" else "",
                                   "description": c, "priority": 1 if c == "Node" else 0} for c in cols],
            "rows": [{"cells": _row(resource, o), "object": {
                "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}}
                for o in items]}


def _discovery(gv: str) -> list[dict[str, Any]]:
    out = []
    for plural, (group_version, kind, namespaced, short) in RESOURCES.items():
        if group_version != gv:
            continue
        verbs = ["get", "list"] + (["create"] if plural in CREATABLE else []) + (
            ["patch", "update"] if plural in PATCHABLE else []) + (["delete"] if plural in DELETABLE else [])
        out.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                    "verbs": verbs, "shortNames": short})
        if plural == "deployments":
            out.append({"name": "deployments/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
                        "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
    return out


PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[\w.]+)/(?P<version>v1))"
                  r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<res>[a-z]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>scale|status))?$")
GROUPS = ("apps", "networking.k8s.io")


def make_app(cluster: Cluster, reconciler: Reconciler) -> Callable[[Request], Response]:
    def app(req: Request) -> Response:
        path = req.path.rstrip("/") or "/"
        if path == "/version":
            return Response.json({"major": "1", "minor": cluster.version.split(".")[1],
                                  "gitVersion": f"v{cluster.version}.0-drill-twin", "platform": "linux/amd64"})
        if path in ("/healthz", "/readyz", "/livez"):
            return Response.text("ok")
        if path == "/api":
            return Response.json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        if path == "/apis":
            return Response.json({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}} for g in GROUPS]})
        if path == "/api/v1" or path in {f"/apis/{g}/v1" for g in GROUPS}:
            gv = "v1" if path == "/api/v1" else path[len("/apis/"):]
            return Response.json({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                  "resources": _discovery(gv)})
        m = PATH.match(path)
        if not m or m["res"] not in RESOURCES:
            return _status(404, "NotFound", f"the server could not find the requested resource ({path})")
        res, ns, name, sub = m["res"], m["ns"], m["name"], m["sub"]
        if RESOURCES[res][0] != (m["core"] or f"{m['group']}/{m['version']}"):
            return _status(404, "NotFound", f"{res} is not served here")
        if RESOURCES[res][2] and ns is None and name is not None:
            return _status(404, "NotFound", "namespace required")
        if ns is not None and not cluster.get("namespaces", "", ns) and not (res == "namespaces"):
            return _status(404, "NotFound", f'namespaces "{ns}" not found')
        try:
            resp = _route(cluster, req, res, ns, name, sub)
        except ValueError as exc:
            return _status(400, "BadRequest", str(exc))
        if req.method != "GET":
            reconciler.reconcile()
        return resp

    return app


def _route(cluster: Cluster, req: Request, res: str, ns: str | None, name: str | None,
           sub: str | None) -> Response:
    if name is None:
        if req.method == "GET":
            return _list(cluster, req, res, ns)
        if req.method == "POST" and res in CREATABLE:
            body = req.json()
            new_name = (body.get("metadata") or {}).get("name")
            if not new_name:
                return _status(422, "Invalid", "metadata.name is required")
            if cluster.get(res, ns or "", new_name):
                return _status(409, "AlreadyExists", f'{res} "{new_name}" already exists')
            body.setdefault("status", {})
            created = cluster.put(res, ns or "", body)
            cluster.event("created", resource=res, name=new_name)
            return Response.json(created, 201)
        return _status(405, "MethodNotAllowed", f"{req.method} not supported on the {res} collection")
    obj = cluster.get(res, ns or "", name)
    if obj is None:
        return _status(404, "NotFound", f'{res} "{name}" not found')
    if sub == "scale" and res == "deployments":
        return _scale(cluster, req, obj)
    if req.method == "GET":
        return Response.json(obj)
    if req.method in ("PATCH", "PUT") and res in PATCHABLE:
        body = req.json()
        with cluster.lock:
            if req.method == "PUT":
                obj["spec"] = body.get("spec", obj.get("spec"))
                obj["metadata"]["labels"] = (body.get("metadata") or {}).get("labels", obj["metadata"]["labels"])
            else:
                strategic = "strategic-merge" in req.headers.get("content-type", "")
                merge(obj, {k: v for k, v in body.items() if k in ("spec", "metadata", "data")}, strategic)
            obj["metadata"]["resourceVersion"] = cluster.next_rv()
            obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
        cluster.event("patched", resource=res, name=name)
        return Response.json(obj)
    if req.method == "DELETE" and res in DELETABLE:
        gone = cluster.delete(res, ns or "", name)
        cluster.event("deleted", resource=res, name=name)
        if res in WORKLOADS or res == "namespaces":
            return Response.json({"kind": "Status", "apiVersion": "v1", "status": "Success",
                                  "details": {"name": name, "kind": res}})
        return Response.json(gone)
    return _status(405, "MethodNotAllowed", f"{req.method} not supported on {res}")


def _list(cluster: Cluster, req: Request, res: str, ns: str | None) -> Response:
    items = cluster.list(res, ns)
    if sel := req.arg("labelSelector"):
        items = [o for o in items if _selector_match(o["metadata"].get("labels", {}), sel)]
    if fsel := req.arg("fieldSelector"):
        items = [o for o in items if _field_match(o, fsel)]
    items = sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    rv = cluster.next_rv()
    if "as=Table" in req.headers.get("accept", ""):
        return Response.json(_table(res, items, rv),
                             headers={"Content-Type": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    gv, kind, _, _ = RESOURCES[res]
    return Response.json({"kind": f"{kind}List", "apiVersion": gv, "metadata": {"resourceVersion": rv},
                          "items": items})


def _scale(cluster: Cluster, req: Request, dep: dict[str, Any]) -> Response:
    if req.method in ("PATCH", "PUT"):
        replicas = req.json().get("spec", {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            return _status(422, "Invalid", "spec.replicas must be a non-negative integer")
        with cluster.lock:
            dep["spec"]["replicas"] = replicas
            dep["metadata"]["resourceVersion"] = cluster.next_rv()
        cluster.event("scaled", name=dep["metadata"]["name"], replicas=replicas)
    elif req.method != "GET":
        return _status(405, "MethodNotAllowed", "scale supports GET, PATCH, PUT")
    meta = dep["metadata"]
    return Response.json({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                     "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
        "spec": {"replicas": dep["spec"]["replicas"]},
        "status": {"replicas": dep["status"].get("replicas", 0), "selector": f"app={meta['name']}"}})
