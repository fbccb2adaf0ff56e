"""Checks that read the DR posture: ``audit`` (the readiness scorecard), ``consistency`` (primary
vs DR per store, and probes that must arrive), ``alert`` (the alert path of checklist item 1),
``cognito`` (checklist item 6's login).

May import: ``drill.core``, ``drill.targets``, ``drill.ops``, ``drill.traffic``.
"""
