"""`drill audit` names a gap as the policy's known gap only when the feature is absent altogether,
as the policy says; a feature that is there but broken is a new gap under the same item."""

from __future__ import annotations

from drill.checks.audit import Auditor
from drill.core.config import load_config

CFG = load_config(None, None).config


def _absent(key: str, problems: list[str]) -> bool:
    auditor = Auditor.__new__(Auditor)
    auditor.cfg = CFG
    return auditor.absent(key, problems)


def test_an_absent_feature_is_the_known_gap() -> None:
    tables = [t.name for t in CFG.dynamodb.tables]
    records = [r.name for r in CFG.route53.records if r.routing == "failover"]
    assert _absent("dynamodb_streams", [p for t in tables for p in (f"{t}: stream not enabled", f"{t}: no replica in x")])
    assert _absent("route53_health_check", ["no Route 53 health check on the primary ALBs"])
    assert _absent("alert_path", ["no alarm X on the health check (us-east-1)"])
    assert _absent("route53_failover", [f"{r}: failover none" for r in records])
    assert _absent("cloudfront_origin_failover", ["no origin group a -> b"])
    assert _absent("ecr_replication", ["no replication rule to ap-northeast-1"])


def test_a_broken_feature_is_a_new_gap() -> None:
    first = CFG.dynamodb.tables[0].name
    records = [r.name for r in CFG.route53.records if r.routing == "failover"]
    assert not _absent("dynamodb_streams", [f"{first}: no replica in ap-northeast-1"])
    assert not _absent("dynamodb_streams", [f"{first}: stream not enabled"] * (len(CFG.dynamodb.tables) - 1))
    assert not _absent("route53_health_check", ["hc-1: disabled"])
    assert not _absent("alert_path", ["Alarm: topic t has no subscription"])
    assert not _absent("route53_failover", [f"{records[0]}: failover ['PRIMARY']"])
    assert not _absent("cloudfront_origin_failover", ["the default behaviour targets a, not the origin group g"])
    assert not _absent("ecr_replication", ["could not check: EndpointConnectionError: ..."])
