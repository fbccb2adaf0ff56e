"""drill: a DR drill harness that measures RTO and RPO.

Packages, in layers (each may import only those below it; those on one line not each other):
``cli`` (and ``__main__``) -> ``engine`` (the drill, its procedures and session) -> ``plan``
(what a drill will do), ``checks`` (audit, consistency) -> ``faults``, ``traffic``, ``notify``
(Slack messages), ``report`` -> ``ops`` (runbook actions and probes per service) -> ``targets``
(where a drill acts, with capabilities) -> ``core`` (config, journal, measurement). Of the twin,
only ``sandbox.client`` is imported (by ``targets``, and by ``cli`` for ``drill sandbox``). The
import contracts are in pyproject.toml (``lint-imports``).
"""
