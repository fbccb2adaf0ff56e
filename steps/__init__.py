"""The step definitions: parse the words of the features, call the engine (``drill.engine.api``),
assert on what it returns. One module per feature folder, plus the steps they share; each step
names beside its definition the calls it makes (for ``drill plan`` and ``drill iam-policy``).

May import: ``drill.engine.api`` only (nothing else of ``drill``, nothing of ``sandbox``).
"""
