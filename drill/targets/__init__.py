"""Targets: where a drill acts. ``base.Target`` is the one code path (AWS through boto3 with every
call recorded, Kubernetes, DNS, Slack) and its capabilities; ``sandbox`` points it at the twin,
``localstack`` at the twin with a real LocalStack, ``aws`` at an account behind guardrails;
``factory`` makes the one a command names.

May import: ``drill.core``, and of the twin only ``sandbox.client``.
"""
