"""The resource ARN a recorded call acted on (from the identifying parameters the target records),
so a test can ask whether the IAM policy grants what a drill really did."""

from __future__ import annotations

from typing import Any


def arn_of(rec: dict[str, Any], account: str) -> str:
    svc, op, region = rec.get("service"), rec.get("operation", ""), rec.get("region") or "us-east-1"
    r = rec.get("resources") or {}
    if svc == "rds":
        if "DBInstanceIdentifier" in r:
            return f"arn:aws:rds:{region}:{account}:db:{r['DBInstanceIdentifier']}"
        return "*"
    if svc == "route53":
        if "HealthCheckId" in r:
            return f"arn:aws:route53:::healthcheck/{r['HealthCheckId']}"
        zone = r.get("HostedZoneId") or (r.get("Id") if op == "GetHostedZone" else None)
        if zone:
            return f"arn:aws:route53:::hostedzone/{str(zone).split('/')[-1]}"
        if op == "GetChange" and "Id" in r:
            return f"arn:aws:route53:::change/{str(r['Id']).split('/')[-1]}"
        return "*"
    if svc == "dynamodb" and "TableName" in r:
        return f"arn:aws:dynamodb:{region}:{account}:table/{r['TableName']}"
    if svc == "s3" and "Bucket" in r and op == "DeleteObjects" and "Key" not in r:
        # IAM judges a DeleteObjects on each object it names: the prefix they share, with a wildcard
        return f"arn:aws:s3:::{r['Bucket']}/{r.get('KeyPrefix', '')}*"
    if svc == "s3" and "Bucket" in r:
        return f"arn:aws:s3:::{r['Bucket']}" + (f"/{r['Key']}" if "Key" in r else "")
    if svc == "eks" and "nodegroupName" in r:
        return f"arn:aws:eks:{region}:{account}:nodegroup/{r['clusterName']}/{r['nodegroupName']}/x"
    if svc == "cloudwatch" and ("AlarmName" in r or "AlarmNames" in r or "AlarmNamePrefix" in r):
        name = r.get("AlarmName") or (r.get("AlarmNames") or [None])[0] or f"{r['AlarmNamePrefix']}*"
        return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"
    if svc == "secretsmanager" and "SecretId" in r:
        return f"arn:aws:secretsmanager:{region}:{account}:secret:{r['SecretId']}-AbCdEf"
    if svc == "cognito-idp" and "UserPoolId" in r:
        return f"arn:aws:cognito-idp:{region}:{account}:userpool/{r['UserPoolId']}"
    if svc == "fis":
        kind = "experiment-template" if "Template" in op or "experimentTemplateId" in r and op != "StartExperiment" \
            else "experiment"
        return f"arn:aws:fis:{region}:{account}:{kind}/x"
    if svc == "sns" and "TopicArn" in r:
        return str(r["TopicArn"])
    if svc == "ecr" and "repositoryName" in r:
        return f"arn:aws:ecr:{region}:{account}:repository/{r['repositoryName']}"
    if svc == "cloudfront" and ("Id" in r or "DistributionId" in r):
        return f"arn:aws:cloudfront::{account}:distribution/{r.get('Id') or r.get('DistributionId')}"
    return "*"
