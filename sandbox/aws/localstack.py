"""LocalStack as the twin sees it: what it offers, and a clean slate before the twin provisions it.

The open-source LocalStack has no state-reset endpoint and keeps its state while it runs, so a
second ``sandbox up`` against the same LocalStack would find the first one's buckets, tables and
zone. ``clear`` removes exactly the resources the policy config names (nothing else on that
LocalStack is touched), in the services routed to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drill.core.aws import s3_delete_versions
from drill.core.schema import Config


def _quiet(fn: Callable[..., Any], **kwargs: Any) -> None:
    try:
        fn(**kwargs)
    except Exception as exc:  # absent already: that is the goal
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if not code:
            raise


def clear(cfg: Config, client: Callable[[str, str], Any], services: list[str]) -> list[str]:
    """Delete the policy's resources from LocalStack; returns what was removed."""
    roles = {"primary": cfg.regions.primary.name, "dr": cfg.regions.dr.name}
    removed: list[str] = []
    if "s3" in services:
        for pair in cfg.s3.buckets:
            for name, region in ((pair.name, roles["primary"]), (pair.dr, roles["dr"])):
                s3 = client("s3", region)
                try:
                    s3.head_bucket(Bucket=name)
                except Exception:
                    continue
                s3_delete_versions(s3, name, "")  # every version: a versioned bucket must be empty to go
                s3.delete_bucket(Bucket=name)
                removed.append(f"s3:{name}")
    if "dynamodb" in services:
        for table in cfg.dynamodb.tables:
            for region in (roles["primary"], roles["dr"]):
                ddb = client("dynamodb", region)
                try:
                    desc = ddb.describe_table(TableName=table.name)["Table"]
                except Exception:
                    continue
                for rep in desc.get("Replicas", []):
                    _quiet(ddb.update_table, TableName=table.name,
                           ReplicaUpdates=[{"Delete": {"RegionName": rep["RegionName"]}}])
                _quiet(ddb.delete_table, TableName=table.name)
                removed.append(f"dynamodb:{region}:{table.name}")
    if "route53" in services:
        r53 = client("route53", "us-east-1")
        for zone in r53.list_hosted_zones()["HostedZones"]:
            if zone["Name"].rstrip(".") != cfg.route53.zone.rstrip("."):
                continue
            zone_id = zone["Id"].split("/")[-1]
            records = r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
            changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in records if r["Type"] not in ("NS", "SOA")]
            if changes:
                r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
            r53.delete_hosted_zone(Id=zone_id)
            removed.append(f"route53:zone:{zone['Name']}")
        for hc in r53.list_health_checks()["HealthChecks"]:
            if str(hc.get("CallerReference", "")).startswith("drill-"):
                r53.delete_health_check(HealthCheckId=hc["Id"])
                removed.append(f"route53:health-check:{hc['Id']}")
    if "secretsmanager" in services:
        for name in dict.fromkeys([s.name for s in cfg.secrets] + [cfg.rds.login_secret, cfg.rds.admin_secret]):
            _quiet(client("secretsmanager", roles["primary"]).remove_regions_from_replication,
                   SecretId=name, RemoveReplicaRegions=[roles["dr"]])
            for region in (roles["dr"], roles["primary"]):
                _quiet(client("secretsmanager", region).delete_secret, SecretId=name,
                       ForceDeleteWithoutRecovery=True)
            removed.append(f"secretsmanager:{name}")
    if "kms" in services:
        for region in roles.values():
            for alias in cfg.kms.aliases:
                _quiet(client("kms", region).delete_alias, AliasName=alias)
    if "acm" in services and cfg.acm.get("domain"):
        for region in roles.values():
            acm = client("acm", region)
            for cert in acm.list_certificates()["CertificateSummaryList"]:
                if cert.get("DomainName") == cfg.acm["domain"]:
                    acm.delete_certificate(CertificateArn=cert["CertificateArn"])
    return removed
