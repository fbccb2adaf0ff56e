"""Reversible faults: the catalog (``catalog``: one class per fault, each with its capabilities,
capture, inject, undo and planned calls), the registry, a drill's fault manager, and the one undo
loop that a drill's restore and ``drill rollback`` share (``undo``).

May import: ``drill.core``, ``drill.targets``, ``drill.ops``.
"""
