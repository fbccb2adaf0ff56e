"""A Kubernetes API server per cluster for the official client and kubectl: the object store
(``store``), the reconciler that plays the controllers and kubelets (``reconciler``: deployments
and daemonsets -> pods, node group size -> nodes, images pulled from the region's ECR, readiness
following the region's network), the HTTP API (``api``) and the kubeconfig (``kubeconfig``).

May import: of the twin, ``sandbox.httpserver`` only; nothing of ``drill``. What a cluster holds
and what it follows (node group, images, network) is handed in by ``sandbox.clusters``.
"""
