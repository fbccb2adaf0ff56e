"""Faults of capacity, made with the EKS and Kubernetes APIs on every target: a node group scaled
to zero (its scaling config restored on undo), every pod of a deployment deleted (its controller
brings them back; the undo waits for that)."""

from __future__ import annotations

from typing import Any

from drill.core.calls import Call, Ctx, aws, other
from drill.core.errors import InvalidInput
from drill.core.waits import wait_until
from drill.faults.registry import Fault, refuse_marked, register
from drill.ops import eks
from drill.targets.base import Target


@register
class NodeGroupZero(Fault):
    name = "node_group_zero"
    description = "a cluster's node group is scaled to 0 nodes"
    params = {"role": str}
    state = {"before": dict}

    def capture(self, target: Target, role: str = "dr") -> dict[str, Any]:
        before = eks.scaling(target, role)
        refuse_marked(self.name, [f"{role} node group already at 0 nodes"] if before.get("desiredSize") == 0 else [])
        return {"role": role, "before": before}

    def inject(self, target: Target, role: str = "dr", before: dict[str, int] | None = None, **_: Any) -> dict[str, Any]:
        cl = target.cfg.side(role).cluster
        target.client("eks", target.cfg.side(role).region).update_nodegroup_config(
            clusterName=cl.cluster, nodegroupName=cl.node_group,
            scalingConfig={"minSize": 0, "maxSize": max(1, (before or {}).get("maxSize", 1)), "desiredSize": 0})
        return {}

    def undo(self, target: Target, role: str = "dr", before: dict[str, int] | None = None, **_: Any) -> None:
        cl = target.cfg.side(role).cluster
        conf = {k: int(v) for k, v in (before or {}).items() if k in ("minSize", "maxSize", "desiredSize")}
        if not conf:
            conf = {"minSize": cl.min_nodes, "maxSize": cl.max_nodes, "desiredSize": cl.nodes}
        target.client("eks", target.cfg.side(role).region).update_nodegroup_config(
            clusterName=cl.cluster, nodegroupName=cl.node_group, scalingConfig=conf)
        m = target.cfg.measure  # undone when the nodes are back and what they ran is Ready again
        eks.wait_scaled(target, role, conf["desiredSize"], {}, m.action_deadline_s, m.probe_interval_s)

    def calls(self, ctx: Ctx) -> list[Call]:
        return [aws("eks", "DescribeNodegroup", ctx.region("dr"), ctx.nodegroup("dr")),
                aws("eks", "UpdateNodegroupConfig", ctx.region("dr"), ctx.nodegroup("dr"), True, "0 nodes; back on undo")]


@register
class PodKill(Fault):
    name = "pod_kill"
    description = "every pod of a deployment is deleted"
    params = {"role": str, "deployment": str, "namespace": str}

    def capture(self, target: Target, role: str = "primary", deployment: str = "", namespace: str = "") -> dict[str, Any]:
        if deployment not in {w.deployment for w in target.cfg.workloads}:
            raise InvalidInput(f"pod_kill: --param deployment= one of the policy's deployments (got {deployment!r})")
        return {"role": role, "deployment": deployment, "namespace": namespace or target.cfg.app_namespace}

    def inject(self, target: Target, role: str = "primary", deployment: str = "", namespace: str = "",
               **_: Any) -> dict[str, Any]:
        from kubernetes import client

        core = client.CoreV1Api(target.kube(role))
        for pod in core.list_namespaced_pod(namespace, label_selector=f"app={deployment}", _request_timeout=10).items:
            name = eks.name_of(pod.metadata)
            if target.journal is not None:
                target.journal.write("k8s_call", operation="delete_namespaced_pod", pod=name, namespace=namespace)
            core.delete_namespaced_pod(name, namespace, _request_timeout=10)
        return {}

    def undo(self, target: Target, role: str = "primary", deployment: str = "", namespace: str = "", **_: Any) -> None:
        """Pods come back by themselves (the deployment's controller); the undo waits for that."""
        state = lambda: eks.workloads(target, role).get(deployment)  # noqa: E731
        wait_until(lambda: (s := state()) is None or s.ok, target.cfg.measure.action_deadline_s,
                   f"{deployment} available again")

    def calls(self, ctx: Ctx) -> list[Call]:
        return [other("kubernetes", ctx.cfg.eks.primary.cluster, "delete the pods of a deployment", ["pods"], True)]
