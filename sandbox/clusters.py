"""The twin's two Kubernetes clusters as the supervisor starts them: each seeded from the config and
the provisioned inventory (workloads, daemonsets, system services, ingresses on their load
balancers, configmaps), its reconciler wired to what the emulator says (the EKS node group's
desired size, the images in the region's ECR) and to the network cuts, its API served, and one
kubeconfig naming both; the drill's load worker pods run as local processes
(``sandbox.loadworkers``). ``seed`` is also what the twin's reset returns a cluster to.

The generic pieces (object store, reconciler, HTTP API, kubeconfig) live in ``sandbox.k8s``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from drill.core.schema import ROLES, Config

if TYPE_CHECKING:
    from sandbox.aws.backends import Backends
    from sandbox.aws.provision import Inventory
    from sandbox.httpserver import Server
    from sandbox.k8s.store import Cluster
    from sandbox.twin import Twin

ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)[:@](.+)$")


def start(cfg: Config, twin: Twin, host: str, rundir: Path, servers: list[Server],
          stopping: Callable[[], bool]) -> None:
    """Both clusters up and reconciled once, their API servers added to ``servers`` (the
    supervisor's, which it shuts down) and the kubeconfig written; a thread reconciles them until
    ``stopping()``."""
    from sandbox.httpserver import Server
    from sandbox.k8s.api import make_app
    from sandbox.k8s.kubeconfig import kubeconfig
    from sandbox.k8s.reconciler import Reconciler
    from sandbox.k8s.store import Cluster

    def image_available(image: str) -> bool:
        return _image_in_ecr(twin.backends, image)

    from sandbox.loadworkers import LoadWorkerPods

    twin.load_pods = LoadWorkerPods(rundir)
    urls: dict[str, str] = {}
    for role in ROLES:
        side = cfg.side(role)
        cluster = Cluster(side.cluster.cluster, side.region, side.cluster.version)
        seed(cluster, cfg, twin.inventory, role)

        def network_up(r: str = role) -> bool:
            return r not in twin.cut.regions

        rec = Reconciler(cluster, cfg.eks.pods_per_node, cfg.sandbox.timing.pod_start_s,
                         cfg.sandbox.timing.node_start_s, _desired_nodes(cfg, twin.backends, role),
                         network_up, image_available, on_pod=twin.load_pods.on_pod)
        rec.reconcile()
        server = Server(make_app(cluster, rec), host, getattr(cfg.sandbox.ports, f"k8s_{role}"), f"k8s-{role}")
        servers.append(server)
        twin.clusters[role] = (cluster, rec)
        urls[side.cluster.cluster] = server.url
    (rundir / "kubeconfig").write_text(kubeconfig(urls))
    twin.state["kubeconfig"] = str(rundir / "kubeconfig")
    threading.Thread(target=_reconcile_loop, args=(twin, cfg.sandbox.timing.reconcile_interval_s, stopping),
                     name="k8s-reconciler", daemon=True).start()


def seed(cluster: Cluster, cfg: Config, inv: Inventory, role: str) -> None:
    """A cluster's steady state: what the policy runs in that region."""
    ns = cfg.app_namespace
    side = cfg.side(role)
    for name in {ns, *(ds.namespace for ds in cfg.daemonsets)}:  # the policy's namespaces exist
        if not cluster.get("namespaces", "", name):
            cluster.put("namespaces", "", {"metadata": {"name": name}, "spec": {}, "status": {"phase": "Active"}})
    for wl in cfg.workloads:
        image = f"{wl.name}:stable"
        if wl.image and wl.image.startswith("ecr:"):
            image = f"{inv.account_id}.dkr.ecr.{side.region}.amazonaws.com/{wl.image[4:]}:release"
        elif wl.image:
            image = wl.image
        replicas = wl.replicas if role == "primary" else min(wl.replicas, cfg.eks.standby_replicas)
        cluster.add_workload("deployments", wl.deployment, ns, image, replicas, wl.port, wl.name)
    for ds in cfg.daemonsets:
        cluster.add_workload("daemonsets", ds.name, ds.namespace, f"{ds.name}:stable")
    for group in cfg.system_services.values():
        for name in group:
            cluster.add_workload("deployments", name, "kube-system", f"{name}:stable", 1)
    for ing in cfg.ingresses:
        host = cfg.app_host if ing.host == "*" else ing.host.split(".")[0]
        alb = next((a for a in cfg.albs if host in a.serves), cfg.albs[0])
        cluster.add_simple("ingresses", ns, ing.name, {"spec": {"ingressClassName": "alb", "rules": [
            {"host": None if ing.host == "*" else ing.host, "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {
                    "name": ing.service, "port": {"number": ing.port}}}}]}}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": inv.albs[alb.name][role]}]}}})
    for cm in cfg.configmaps:
        cluster.add_simple("configmaps", ns, cm, {"data": {"region": side.region}})


def _desired_nodes(cfg: Config, eks: Backends, role: str) -> Callable[[], int | None]:
    cl = cfg.side(role).cluster

    def desired() -> int | None:
        from moto.eks.models import eks_backends

        try:
            ng = eks_backends[eks.account][cfg.side(role).region].clusters[cl.cluster].nodegroups[cl.node_group]
            return int(ng.scaling_config["desiredSize"])
        except KeyError:
            return 0  # the node group is gone: no nodes

    return desired


def _image_in_ecr(backends: Backends, image: str) -> bool:
    m = ECR_IMAGE.match(image)
    if not m:
        return True  # a public image
    account, region, repo, ref = m.groups()
    try:
        repository = backends.ecr(region).repositories.get(repo)
    except KeyError:
        return False
    if repository is None:
        return False
    return any(ref in (img.image_tags or []) or ref == img.image_digest for img in repository.images)


def _reconcile_loop(twin: Twin, interval: float, stopping: Callable[[], bool]) -> None:
    while not stopping():
        time.sleep(interval)
        for cluster, rec in twin.clusters.values():
            try:
                rec.reconcile()
            except Exception as exc:
                twin.event("reconcile_error", cluster=cluster.name, error=str(exc)[:200])
