"""The kubeconfig a drill uses for the twin's clusters: one context per cluster, named after it
(as ``aws eks update-kubeconfig --name C --alias C`` names them on an account)."""

from __future__ import annotations

import yaml


def kubeconfig(clusters: dict[str, str]) -> str:
    """``clusters`` maps a cluster name to its API server URL."""
    names = list(clusters)
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": n, "cluster": {"server": u}} for n, u in clusters.items()],
        "users": [{"name": f"{n}-user", "user": {"token": "twin"}} for n in names],
        "contexts": [{"name": n, "context": {"cluster": n, "user": f"{n}-user", "namespace": "default"}}
                     for n in names],
        "current-context": names[0],
    }, sort_keys=False)
