"""The fault catalog: one module per family; each fault is one class, registered on import.
To add a fault: a class here (``drill.faults.registry.Fault``) and, if it is new, its module in
the import list below.

May import: ``drill.faults.registry``, ``drill.core``, ``drill.targets``, ``drill.ops``.
"""

from drill.faults.catalog import capacity, edge, health, region_outage, replication  # noqa: F401
