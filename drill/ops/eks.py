"""EKS and Kubernetes: the node group (its desired size is what the runbook changes; its limits are
the account's, and EKS refuses a desired size above the maximum), nodes, and workloads
(deployments and daemonsets: Ready, with their restarts) through the official client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drill.core.errors import ActionFailed
from drill.core.waits import wait_until
from drill.targets.base import Target

if TYPE_CHECKING:
    from kubernetes.client import V1ObjectMeta


# The Kubernetes APIs the drill calls and what they answer with (the calls in this module,
# load_workers.py, the capacity faults, route53.py's ingress lookup). The client imports each API
# and model lazily, with their pydantic validators, the first time one is used: about 30 MB and a
# few hundred ms, which landed inside the failover's scale-up phase. `load_models` imports them
# before the drill changes anything; one missing here is only imported later, as before.
APIS = ("AppsV1Api", "CoreV1Api", "NetworkingV1Api")
RESPONSE_MODELS = ("V1DeploymentList", "V1DaemonSetList", "V1PodList", "V1NodeList", "V1IngressList", "V1Scale",
                   "V1Namespace", "V1Deployment", "V1Pod", "V1Status")


def load_models() -> None:
    from kubernetes import client

    for name in APIS + RESPONSE_MODELS:
        getattr(client, name)


@dataclass(frozen=True)
class WorkloadState:
    kind: str
    namespace: str
    name: str
    desired: int
    ready: int
    restarts: int
    waiting: tuple[str, ...]  # reasons pods wait (ImagePullBackOff, ...)

    @property
    def ok(self) -> bool:
        return self.desired > 0 and self.ready >= self.desired


def scaling(target: Target, role: str) -> dict[str, int]:
    cl = target.cfg.side(role).cluster
    ng = target.client("eks", target.cfg.side(role).region).describe_nodegroup(
        clusterName=cl.cluster, nodegroupName=cl.node_group)["nodegroup"]
    return {k: int(v) for k, v in ng["scalingConfig"].items()}


def set_desired(target: Target, role: str, desired: int) -> dict[str, int]:
    """Change only the node group's desired size (the policy's procedure); EKS keeps min and max."""
    cl = target.cfg.side(role).cluster
    eks = target.client("eks", target.cfg.side(role).region)
    current = scaling(target, role)
    try:
        eks.update_nodegroup_config(clusterName=cl.cluster, nodegroupName=cl.node_group,
                                    scalingConfig={"desiredSize": desired})
    except eks.exceptions.InvalidParameterException as exc:
        raise ActionFailed(f"EKS refused {desired} nodes for {cl.node_group} (min {current.get('minSize')}, max "
                           f"{current.get('maxSize')}): {exc.response['Error'].get('Message', '')}".rstrip(": ")) from None
    return {"before": current.get("desiredSize", 0), "desired": desired, "max": current.get("maxSize", 0)}


def ready_nodes(target: Target, role: str) -> int:
    from kubernetes import client

    count = 0
    for node in client.CoreV1Api(target.kube(role)).list_node(_request_timeout=5).items:
        conditions = (node.status.conditions if node.status is not None else None) or []
        count += int(any(c.type == "Ready" and c.status == "True" for c in conditions))
    return count


def scale_deployments(target: Target, role: str, replicas: dict[str, int]) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(target.kube(role))
    cluster = target.cfg.side(role).cluster.cluster
    for name, n in replicas.items():
        if target.journal is not None:
            target.journal.write("k8s_call", durable=True, cluster=cluster, operation="patch_namespaced_deployment_scale",
                                 deployment=name, replicas=n)
        apps.patch_namespaced_deployment_scale(name, target.cfg.app_namespace, {"spec": {"replicas": n}},
                                               _request_timeout=10)


def name_of(meta: V1ObjectMeta | None) -> str:
    """The name of an object the API listed (always set; the client types every field optional)."""
    if meta is None or meta.name is None:
        raise ActionFailed("the Kubernetes API listed an object without a name")
    return meta.name


def workloads(target: Target, role: str) -> dict[str, WorkloadState]:
    """Every deployment and daemonset of the policy's namespaces, with its pods' restarts."""
    from kubernetes import client

    cfg = target.cfg
    apps, core = client.AppsV1Api(target.kube(role)), client.CoreV1Api(target.kube(role))
    namespaces = {cfg.app_namespace} | {d.namespace for d in cfg.daemonsets}
    out: dict[str, WorkloadState] = {}
    for ns in sorted(namespaces):
        pods = core.list_namespaced_pod(ns, _request_timeout=10).items
        restarts: dict[str, int] = {}
        waiting: dict[str, set[str]] = {}
        for pod in pods:
            refs = pod.metadata.owner_references if pod.metadata is not None else None
            owner = next((o.name for o in (refs or [])), "")
            for cs in (pod.status.container_statuses or []) if pod.status else []:
                restarts[owner] = restarts.get(owner, 0) + int(cs.restart_count or 0)
                if cs.state is not None and cs.state.waiting is not None:
                    waiting.setdefault(owner, set()).add(str(cs.state.waiting.reason))
        for dep in apps.list_namespaced_deployment(ns, _request_timeout=10).items:
            name = name_of(dep.metadata)
            out[name] = WorkloadState("deployment", ns, name, int(dep.spec.replicas or 0),
                                      int((dep.status.available_replicas if dep.status else 0) or 0),
                                      restarts.get(name, 0), tuple(sorted(waiting.get(name, ()))))
        for ds in apps.list_namespaced_daemon_set(ns, _request_timeout=10).items:
            name = name_of(ds.metadata)
            st = ds.status
            out[name] = WorkloadState("daemonset", ns, name, int(st.desired_number_scheduled or 0) if st else 0,
                                      int(st.number_ready or 0) if st else 0, restarts.get(name, 0),
                                      tuple(sorted(waiting.get(name, ()))))
    return out


def wait_nodes(target: Target, role: str, nodes: int, deadline_s: float, interval_s: float) -> None:
    wait_until(lambda: ready_nodes(target, role) >= nodes, deadline_s, f"{nodes} {role} nodes Ready", interval_s)


def wait_scaled(target: Target, role: str, nodes: int, replicas: dict[str, int], deadline_s: float,
                interval_s: float) -> dict[str, Any]:
    """Until ``nodes`` nodes, every named deployment's replicas and every daemonset's pods are Ready."""
    wait_nodes(target, role, nodes, deadline_s, interval_s)
    last: dict[str, WorkloadState] = {}
    daemonsets = [d.name for d in target.cfg.daemonsets]

    def available() -> bool:
        nonlocal last
        last = workloads(target, role)
        return all(name in last and last[name].ready >= n for name, n in replicas.items()) and all(
            name in last and last[name].ok for name in daemonsets)

    try:
        wait_until(available, deadline_s, f"{role} deployments available", interval_s)
    except ActionFailed as exc:
        short = [f"{n} {last[n].ready}/{want}" + (f" ({', '.join(last[n].waiting)})" if last[n].waiting else "")
                 for n, want in replicas.items() if n in last and last[n].ready < want]
        raise ActionFailed(f"{exc}: {'; '.join(short[:6])}") from None
    return {"nodes": nodes, "deployments": replicas}
