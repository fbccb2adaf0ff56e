"""What a drill will do before it does it: ``registry`` (each step with its planned calls),
``library`` (the calls of the engine's steps), ``catalogue`` (the scenarios pytest collects, matched
to steps and faults), ``iam`` (the least-privilege policy, and whether it grants a call),
``arns`` (the resource of a recorded call), ``render``.

May import: ``drill.core``, ``drill.targets``, ``drill.faults``, ``drill.ops`` (read-only lookups).
"""
