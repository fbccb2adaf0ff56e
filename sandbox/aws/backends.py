"""The emulator's backends, in the supervisor's process, by service and region (for the parts of
the twin that act behind the API, as AWS's own services do)."""

from __future__ import annotations

from typing import Any


class Backends:
    def __init__(self, account: str):
        self.account = account

    def ec2(self, region: str) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[self.account][region]

    def rds(self, region: str) -> Any:
        from moto.rds.models import rds_backends

        return rds_backends[self.account][region]

    def dynamodb(self, region: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self.account][region]

    def cloudwatch(self, region: str) -> Any:
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[self.account][region]

    def functions(self, region: str) -> Any:
        from moto.awslambda.models import lambda_backends

        return lambda_backends[self.account][region]

    def cognito(self, region: str) -> Any:
        from moto.cognitoidp.models import cognitoidp_backends

        return cognitoidp_backends[self.account][region]

    def ecr(self, region: str) -> Any:
        from moto.ecr.models import ecr_backends

        return ecr_backends[self.account][region]
