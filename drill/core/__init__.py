"""The core: config (schema, topology, settings, loading), errors, journal, redaction, pure RTO/RPO
arithmetic, waits and paths. Plain data and pure functions.

May import: nothing of ``drill`` outside ``drill.core``, nothing of ``sandbox``. The twin
(``sandbox``) imports this package and nothing else of ``drill``.
"""
