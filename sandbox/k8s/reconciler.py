"""The controllers and kubelets of one cluster, played in one loop.

Nodes follow the EKS node group's desired size (through the EKS API); a node is Ready once it
has started and while its region's network is up. Deployments get ``replicas`` pods and
daemonsets one pod per Ready node; pods are scheduled on Ready nodes with room
(``pods_per_node``), pull their image (an ECR image only if the region's ECR holds it:
otherwise ImagePullBackOff), and are Ready after their start time on a Ready node. ``on_pod``
lets the twin run something for a pod.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from typing import Any

from sandbox.k8s.store import Cluster, now_iso


class Reconciler:
    def __init__(self, cluster: Cluster, pods_per_node: int, pod_start_s: float, node_start_s: float,
                 desired_nodes: Callable[[], int | None], network_up: Callable[[], bool],
                 image_available: Callable[[str], bool],
                 on_pod: Callable[[str, dict[str, Any] | None], None] | None = None):
        self.c = cluster
        self.pods_per_node = pods_per_node
        self.pod_start_s = pod_start_s
        self.node_start_s = node_start_s
        self.desired_nodes = desired_nodes
        self.network_up = network_up
        self.image_available = image_available
        self.on_pod = on_pod  # (pod name, pod or None when gone)
        self._born: dict[str, float] = {}
        self._node_seq = 0
        self._running: set[str] = set()
        self._sig: dict[str, tuple[str, str, bool]] = {}

    def reconcile(self) -> None:
        with self.c.lock:
            self._nodes()
            self._pods()
        self._notify()

    # ------------------------------------------------------------------ nodes

    def _nodes(self) -> None:
        c = self.c
        desired = self.desired_nodes()
        nodes = sorted(c.list("nodes"), key=lambda n: n["metadata"]["creationTimestamp"] + n["metadata"]["name"])
        if desired is None:
            desired = len(nodes)
        while len(nodes) < desired:
            self._node_seq += 1
            seq = self._node_seq
            name = f"ip-10-{seq % 250}-{2 + seq % 2 * 10}-{100 + seq}.{c.region}.compute.internal"
            node = c.put("nodes", "", {
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                      "topology.kubernetes.io/region": c.region}},
                "spec": {},
                "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}],
                           "capacity": {"pods": str(self.pods_per_node)},
                           "allocatable": {"pods": str(self.pods_per_node)},
                           "nodeInfo": {"kubeletVersion": f"v{c.version}.0-eks", "kubeProxyVersion": f"v{c.version}.0-eks",
                                        "operatingSystem": "linux", "architecture": "amd64", "bootID": str(uuid.uuid4()),
                                        "containerRuntimeVersion": "containerd://1.7.27", "kernelVersion": "6.1.0-amazon",
                                        "machineID": uuid.uuid4().hex, "osImage": "Amazon Linux 2023",
                                        "systemUUID": str(uuid.uuid4())}},
            })
            self._born[node["metadata"]["uid"]] = time.monotonic()
            nodes.append(node)
            c.event("node_added", node=name)
        while len(nodes) > desired:
            gone = nodes.pop()
            c.delete("nodes", "", gone["metadata"]["name"])
            for pod in c.list("pods"):
                if pod["spec"].get("nodeName") == gone["metadata"]["name"]:
                    c.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
            c.event("node_removed", node=gone["metadata"]["name"])
        now, up = time.monotonic(), self.network_up()
        for node in nodes:
            ready = up and now - self._born.get(node["metadata"]["uid"], 0) >= self.node_start_s
            cond = node["status"]["conditions"][0]
            want = "True" if ready else "False"
            if cond["status"] != want:
                cond.update(status=want, reason="KubeletReady" if ready else "KubeletNotReady")
                node["metadata"]["resourceVersion"] = c.next_rv()

    def ready_nodes(self) -> list[str]:
        return [n["metadata"]["name"] for n in self.c.list("nodes")
                if n["status"]["conditions"][0]["status"] == "True"]

    # ------------------------------------------------------------------ pods

    def _pods(self) -> None:
        c = self.c
        ready_nodes = self.ready_nodes()
        load = {n: 0 for n in ready_nodes}
        for pod in c.list("pods"):
            if pod["spec"].get("nodeName") in load:
                load[pod["spec"]["nodeName"]] += 1
        owners = {o["metadata"]["uid"] for r in ("deployments", "daemonsets") for o in c.list(r)}
        for pod in c.list("pods"):  # orphans of a deleted workload
            refs = pod["metadata"].get("ownerReferences", [])
            if refs and not any(r.get("uid") in owners for r in refs):
                c.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        for kind in ("deployments", "daemonsets"):
            for wl in c.list(kind):
                self._workload(kind, wl, ready_nodes, load)

    def _workload(self, kind: str, wl: dict[str, Any], ready_nodes: list[str], load: dict[str, int]) -> None:
        c = self.c
        ns, uid = wl["metadata"]["namespace"], wl["metadata"]["uid"]
        pods = [p for p in c.list("pods", ns)
                if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences", []))]
        template = wl["spec"]["template"]
        if kind == "daemonsets":
            on_node = {p["spec"].get("nodeName") for p in pods}
            for p in [p for p in pods if p["spec"].get("nodeName") not in ready_nodes]:
                c.delete("pods", ns, p["metadata"]["name"])
                pods.remove(p)
            for node in ready_nodes:
                if node not in on_node:
                    pods.append(self._new_pod(wl, kind, node))
            want = len(ready_nodes)
        else:
            want = int(wl["spec"].get("replicas", 0))
            stale = [p for p in pods if p["spec"]["containers"] != template["spec"]["containers"]]
            for p in stale:  # a changed template rolls the pods (all at once: enough for a drill)
                c.delete("pods", ns, p["metadata"]["name"])
                pods.remove(p)
            for extra in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"])[want:]:
                c.delete("pods", ns, extra["metadata"]["name"])
                if extra["spec"].get("nodeName") in load:
                    load[extra["spec"]["nodeName"]] -= 1
            pods = pods[:want]
            for _ in range(want - len(pods)):
                pods.append(self._new_pod(wl, kind, None))
        ready_count = sum(self._pod(p, ready_nodes, load) for p in pods)
        self._status(kind, wl, want, len(pods), ready_count)

    def _new_pod(self, wl: dict[str, Any], kind: str, node: str | None) -> dict[str, Any]:
        name = wl["metadata"]["name"]
        pod = self.c.put("pods", wl["metadata"]["namespace"], {
            "metadata": {"name": f"{name}-{uuid.uuid4().hex[:9]}-{uuid.uuid4().hex[:5]}",
                         "labels": dict(wl["spec"]["template"]["metadata"].get("labels", {})),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": wl["kind"], "name": name,
                                              "uid": wl["metadata"]["uid"]}]},
            "spec": copy.deepcopy(wl["spec"]["template"]["spec"]) | ({"nodeName": node} if node else {}),
            "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]},
        })
        if node:
            self._born[pod["metadata"]["uid"]] = time.monotonic()
        return pod

    def _pod(self, pod: dict[str, Any], ready_nodes: list[str], load: dict[str, int]) -> bool:
        now = time.monotonic()
        node = pod["spec"].get("nodeName")
        if node not in ready_nodes:  # unscheduled, or its node is gone / not ready
            target = min((n for n in ready_nodes if load[n] < self.pods_per_node), key=lambda n: load[n],
                         default=None)
            if target is not None and (node is None or node not in {n["metadata"]["name"] for n in
                                                                    self.c.list("nodes")}):
                pod["spec"]["nodeName"] = node = target
                load[target] += 1
                self._born[pod["metadata"]["uid"]] = now
        images = [ct.get("image", "") for ct in pod["spec"]["containers"]]
        pulled = all(self.image_available(i) for i in images)
        started = node in ready_nodes and pulled and \
            now - self._born.get(pod["metadata"]["uid"], now) >= self.pod_start_s
        ready = started and self.network_up()
        status = pod["status"]
        want_ready = "True" if ready else "False"
        phase = "Running" if started else "Pending"
        sig = (phase, want_ready, pulled)
        if self._sig.get(pod["metadata"]["uid"]) != sig:
            self._sig[pod["metadata"]["uid"]] = sig
            status["phase"] = phase
            status["conditions"][0]["status"] = want_ready
            status["containerStatuses"] = [
                {"name": ct["name"], "ready": ready, "restartCount": 0, "image": ct.get("image", ""), "imageID": "",
                 "started": started}
                | ({} if pulled else {"state": {"waiting": {"reason": "ImagePullBackOff",
                                                            "message": f"pull {ct.get('image')}: not found"}}})
                for ct in pod["spec"]["containers"]]
            if started:
                status.setdefault("startTime", now_iso())
            pod["metadata"]["resourceVersion"] = self.c.next_rv()
        return ready

    def _status(self, kind: str, wl: dict[str, Any], want: int, have: int, ready: int) -> None:
        if kind == "daemonsets":
            new: dict[str, Any] = {"desiredNumberScheduled": want, "currentNumberScheduled": have, "numberMisscheduled": 0,
                                   "numberReady": ready, "numberAvailable": ready,
                                   "numberUnavailable": max(0, want - ready), "updatedNumberScheduled": have}
        else:
            new = {"replicas": have, "readyReplicas": ready, "availableReplicas": ready, "updatedReplicas": have,
                   "unavailableReplicas": max(0, want - ready),
                   "observedGeneration": wl["metadata"].get("generation", 1)}
        st = wl["status"]
        if any(st.get(k) != v for k, v in new.items()):
            st.update(new)
            if kind == "deployments":
                st["conditions"] = [{"type": "Available", "status": "True" if ready >= want else "False",
                                     "reason": "MinimumReplicasAvailable" if ready >= want
                                     else "MinimumReplicasUnavailable"}]
            wl["metadata"]["resourceVersion"] = self.c.next_rv()

    def available(self, deployment: str, namespace: str) -> int:
        dep = self.c.get("deployments", namespace, deployment)
        return int(dep["status"].get("availableReplicas", 0)) if dep else 0

    def _notify(self) -> None:
        """Tell ``on_pod`` which Ready pods appeared and which went away."""
        if self.on_pod is None:
            return
        ready = {p["metadata"]["name"]: p for p in self.c.list("pods")
                 if p["status"]["conditions"][0]["status"] == "True"}
        for name in set(ready) - self._running:
            self.on_pod(name, ready[name])
        for name in self._running - set(ready):
            self.on_pod(name, None)
        self._running = set(ready)
