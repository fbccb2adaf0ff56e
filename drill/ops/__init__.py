"""Runbook actions and probes per service, each a plain function of a target: ``http`` (users'
view: DNS, requests, serving region), ``route53``, ``rds``, ``eks``, ``s3``, ``cloudwatch``,
``cognito``, ``slack``, ``fis``, ``stores`` (what replicated stores hold).

May import: ``drill.core`` and ``drill.targets``.
"""
