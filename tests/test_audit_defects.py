"""`drill audit` can fail: for each item of its scorecard a DR defect is planted in the session's
twin through the account's APIs (the sabotage catalog's plants, and a few the drills do not need),
and the audit then reports that item as a gap and exits 1.
The clean twin scoring no gap is shown by test_safety.py on the same twin."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from drill.checks.audit import Auditor
from tests.conftest import CFG, drill, sandbox_sets
from tests.sabotage import Ops, _alarm_args, catalog

SABOTAGE = {d.name: d for d in catalog(CFG)}


def _no_ecr_replication(ops: Ops) -> dict[str, Any]:
    ecr = ops.aws("ecr", "primary")
    conf = ecr.describe_registry()["replicationConfiguration"]
    ecr.put_replication_configuration(replicationConfiguration={"rules": []})
    return dict(conf)


def _dr_kms_alias_gone(ops: Ops) -> dict[str, str]:
    kms = ops.aws("kms", "dr")
    alias = next(a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == ops.cfg.kms.aliases[0])
    kms.delete_alias(AliasName=alias["AliasName"])
    return {"AliasName": alias["AliasName"], "TargetKeyId": alias["TargetKeyId"]}


def _networking(ops: Ops) -> Any:
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=ops.env["KUBECONFIG"], context=ops.cfg.side("dr").cluster.cluster)
    return client.NetworkingV1Api(api)


def _dr_ingress_gone(ops: Ops) -> dict[str, Any]:
    api, name = _networking(ops), ops.cfg.ingresses[0].name
    body = api.api_client.sanitize_for_serialization(api.read_namespaced_ingress(name, ops.cfg.app_namespace))
    api.delete_namespaced_ingress(name, ops.cfg.app_namespace)
    return body


def _recreate_ingress(ops: Ops, body: dict[str, Any]) -> None:
    meta = {k: body["metadata"][k] for k in ("name", "namespace", "labels", "annotations") if body["metadata"].get(k)}
    _networking(ops).create_namespaced_ingress(ops.cfg.app_namespace, {"apiVersion": "networking.k8s.io/v1",
                                                                        "kind": "Ingress", "metadata": meta,
                                                                        "spec": body["spec"]})


def _secondary_record_gone(ops: Ops) -> dict[str, Any]:
    r53 = ops.aws("route53", "us-east-1")
    zone = next(z["Id"] for z in r53.list_hosted_zones()["HostedZones"]
                if z["Name"].rstrip(".") == ops.cfg.route53.zone.rstrip("."))
    name = next(r.name for r in ops.cfg.route53.records if r.routing == "failover").rstrip(".") + "."
    rec = next(r for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
               if r["Name"] == name and r.get("Failover") == "SECONDARY")
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "DELETE", "ResourceRecordSet": rec}]})
    return {"zone": zone, "record": rec}


def _dr_alarm_gone(ops: Ops) -> dict[str, Any]:
    cw = ops.aws("cloudwatch", "dr")
    alarm = cw.describe_alarms(AlarmNames=[ops.cfg.monitoring.alarms[0].name])["MetricAlarms"][0]
    cw.delete_alarms(AlarmNames=[alarm["AlarmName"]])
    return dict(alarm)


def _replication_stopped(ops: Ops) -> None:
    """The catalog's plant, then the time RDS takes to publish it: ReplicaLag -1 (the audit reads
    the account once; on AWS the metric comes a minute later)."""
    SABOTAGE["replica_not_replicating"].plant(ops)
    side = ops.cfg.side("dr")
    cw, end = ops.aws("cloudwatch", "dr"), time.monotonic() + 30
    while time.monotonic() < end:
        now = time.time()
        points = cw.get_metric_statistics(Namespace="AWS/RDS", MetricName="ReplicaLag", StartTime=now - 10,
                                          EndTime=now + 1, Period=1, Statistics=["Maximum"],
                                          Dimensions=[{"Name": "DBInstanceIdentifier", "Value": side.db.id}])
        if any(p["Maximum"] < 0 for p in points["Datapoints"]):
            return
        time.sleep(0.5)
    raise AssertionError("ReplicaLag never showed the stopped replication (-1) within 30 s")


def _from_catalog(name: str) -> tuple[Callable[[Ops], Any], Callable[[Ops, Any], None]]:
    return SABOTAGE[name].plant, SABOTAGE[name].revert


# audit item -> (what breaks, plant, revert besides the twin's reset)
CASES: list[tuple[str, str, Callable[[Ops], Any], Callable[[Ops, Any], None]]] = [
    ("rds_replica", "the DR replica's replication stopped", _replication_stopped, lambda ops, st: None),
    ("dynamodb_streams", "a global table without its DR replica", *_from_catalog("global_table_without_dr_replica")),
    ("s3_crr", "a bucket's CRR rule set to Disabled", *_from_catalog("crr_rule_disabled")),
    ("ecr_replication", "the registry's replication rules removed", _no_ecr_replication,
     lambda ops, conf: ops.aws("ecr", "primary").put_replication_configuration(replicationConfiguration=conf)),
    ("secret_replicas", "a secret's DR copy made by hand, not a replica", *_from_catalog("stale_secret_replica")),
    ("acm_kms", "a KMS alias the policy lists deleted in DR", _dr_kms_alias_gone,
     lambda ops, alias: ops.aws("kms", "dr").create_alias(**alias)),
    ("eks_dr", "the DR node group's max below the failover size", *_from_catalog("dr_node_group_max_2")),
    ("ingresses_dr", "an ingress deleted in the DR cluster", _dr_ingress_gone, _recreate_ingress),
    ("route53_health_check", "the health checks disabled", *_from_catalog("health_check_disabled")),
    ("alert_path", "the alarm's topic without subscription", *_from_catalog("alarm_without_subscription")),
    ("route53_failover", "a failover record without its SECONDARY", _secondary_record_gone,
     lambda ops, st: ops.aws("route53", "us-east-1").change_resource_record_sets(
         HostedZoneId=st["zone"], ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": st["record"]}]})),
    ("cloudfront_origin_failover", "the default behaviour without the origin group",
     *_from_catalog("front_without_origin_group")),
    ("cognito_dr", "the Post Confirmation trigger removed", *_from_catalog("post_confirmation_trigger_removed")),
    ("cloudwatch_alarms", "a section-10 alarm deleted in DR", _dr_alarm_gone,
     lambda ops, alarm: ops.aws("cloudwatch", "dr").put_metric_alarm(**_alarm_args(alarm))),
]


_dr = CFG.regions.dr.name
# words the item's problem must contain: the gap is the planted one, not another
WORDS = {
    "rds_replica": "replication is not running (ReplicaLag -1)",
    "dynamodb_streams": f"{CFG.dynamodb.tables[0].name}: no replica in {_dr}",
    "s3_crr": f"{CFG.s3.buckets[1].name}: no enabled rule to {CFG.s3.buckets[1].dr}",
    "ecr_replication": f"no replication rule to {_dr}",
    "secret_replicas": f"{CFG.secrets[1].name}: replica in {_dr} missing",
    "acm_kms": f"KMS {CFG.kms.aliases[0]} missing in {_dr}",
    "eks_dr": "node group max 2 < failover size",
    "ingresses_dr": f"ingress {CFG.ingresses[0].name} missing in the DR cluster",
    "route53_health_check": ": disabled",
    "alert_path": "has no subscription",
    "route53_failover": f"{next(r.name for r in CFG.route53.records if r.routing == 'failover')}: failover ['PRIMARY']",
    "cloudfront_origin_failover": "the default behaviour targets",
    "cognito_dr": "no Post Confirmation trigger",
    "cloudwatch_alarms": f"{CFG.monitoring.alarms[0].name} missing in {_dr}",
}


def _audit(account: dict[str, str]) -> tuple[int, dict[str, Any]]:
    res = drill("audit", "--target", "aws", "--json", *sandbox_sets(), env=account, timeout=120)
    return res.returncode, {c["key"]: c for c in json.loads(res.stdout)["checks"]}


def test_every_audit_item_has_a_planted_defect() -> None:
    assert [c[0] for c in CASES] == [key for key, _, _ in Auditor.CHECKS] == list(WORDS)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_planted_defect_is_a_gap_in_the_audit(case: Any, twin: Any, account: dict[str, str]) -> None:
    key, what, plant, revert = case
    twin.reset()
    ops = Ops(account, CFG)
    state: Any = None
    planted = False
    try:
        state, planted = plant(ops), True
        code, checks = _audit(account)
    finally:
        try:
            revert(ops, state)
        except Exception:
            if planted:  # a plant that failed half-way: its own error is the one to see
                raise
    assert code == 1, f"{what}: audit exit {code}"
    problems = checks[key]["problems"]
    assert not checks[key]["ok"] and any(WORDS[key] in p for p in problems), f"{what}: {checks[key]}"
    # new, not the policy's known gap of that item, unless the plant is that gap itself (the
    # policy's ECR gap is "no replication")
    known = {g.key: g.id for g in CFG.known_gaps}.get(key) if key == "ecr_replication" else None
    assert checks[key]["known_gap"] == known, f"{what}: named as known gap {checks[key]['known_gap']}"
    others = {k: c["problems"] for k, c in checks.items() if k != key and not c["ok"]}
    assert not others, f"{what}: other items not ok (a plant too wide, or an earlier revert that failed): {others}"


def test_the_twin_audits_clean_after_every_plant_was_reverted(account: dict[str, str]) -> None:
    code, checks = _audit(account)  # no reset first: what a revert left broken shows here
    assert code == 0, {k: c["problems"] for k, c in checks.items() if not c["ok"]}


def test_after_a_reset_the_account_shows_replication_running(twin: Any, account: dict[str, str]) -> None:
    """The twin's reset returns only once CloudWatch's latest ReplicaLag is the restarted
    replication's (>= 0): the next case's audit read the stopped one's -1 (a CI failure). Without
    the reset's own publish the -1 is still the latest datapoint for up to a publish interval."""
    ops, side = Ops(account, CFG), CFG.side("dr")
    cw = ops.aws("cloudwatch", "dr")
    seen = []
    for _ in range(3):
        _replication_stopped(ops)
        twin.reset()
        now = time.time()  # as drill.ops.rds.replica_lag_s reads it: the latest datapoint
        points = cw.get_metric_statistics(Namespace="AWS/RDS", MetricName="ReplicaLag", StartTime=now - 6,
                                          EndTime=now + 1, Period=1, Statistics=["Maximum"],
                                          Dimensions=[{"Name": "DBInstanceIdentifier", "Value": side.db.id}])
        seen.append(max(points["Datapoints"], key=lambda p: p["Timestamp"])["Maximum"] if points["Datapoints"] else None)
    assert all(lag is not None and lag >= 0 for lag in seen), f"ReplicaLag read straight after each reset: {seen}"
