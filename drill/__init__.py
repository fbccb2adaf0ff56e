"""drill: a DR drill harness that measures RTO and RPO.

Packages, in the order data flows (each may import only those below it):
``cli`` and ``notify`` -> ``engine`` (the drill, its procedures and session) -> ``plan``,
``report``, ``checks``, ``traffic``, ``faults`` -> ``ops`` (runbook actions and probes per
service) -> ``targets`` (where a drill acts, with capabilities) -> ``core`` (config, journal,
measurement). Of the twin, only ``sandbox.client`` is imported (by ``targets``). The import
contracts are in pyproject.toml (``lint-imports``).
"""
