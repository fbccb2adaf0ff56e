"""The twin: a local two-region AWS lookalike that reacts to API state as AWS does.

``client`` is the seam the engine uses (start, find, stop, the twin-only knobs). The rest runs in
the twin's own processes: ``supervisor`` composes the parts (``aws``: moto plus the behaviour it
lacks; ``rds``: MariaDB pair with real replication; ``replication``: global tables, CRR, ECR;
``k8s``: API servers and reconciler, started as the twin's two clusters by ``clusters``;
``slack``; ``control``: the control API, with ``reset``), and ``dataplane`` serves users (load
balancers on each region's addresses, the health checker, DNS, the edge).

May import: ``drill.core`` only, nothing else of ``drill`` (import contracts in pyproject.toml).
"""
