"""`drill audit` names a gap as the policy's known gap only when the feature is absent altogether,
as the policy says; a feature that is there but broken is a new gap under the same item. The real
checks run here against stubbed AWS answers, so their own messages are what is judged."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from drill.checks.audit import Absent, Auditor
from drill.core.config import load_config

CFG = load_config(None, None).config
DR = CFG.regions.dr.name


class _Stub:
    def __init__(self, **answers: Any) -> None:
        self.answers = answers

    def __getattr__(self, name: str) -> Any:
        answer = self.answers[name]
        return answer if callable(answer) else lambda **_: answer  # a callable answers by the call's arguments


def _auditor(**answers: Any) -> Auditor:
    auditor = Auditor(SimpleNamespace(cfg=CFG))  # type: ignore[arg-type]
    auditor.c = lambda service, region: _Stub(**answers)  # type: ignore[method-assign]
    return auditor


def _absent(problems: list[str]) -> bool:
    return bool(problems) and all(isinstance(p, Absent) for p in problems)


def test_streams_off_is_the_known_gap_and_a_missing_replica_with_streams_on_is_new() -> None:
    off = _auditor(describe_table={"Table": {"StreamSpecification": {"StreamEnabled": False}}})
    assert _absent(off.dynamodb()[0])
    on = _auditor(describe_table={"Table": {"StreamSpecification": {"StreamEnabled": True}, "Replicas": []}})
    problems = on.dynamodb()[0]
    assert problems and not _absent(problems)


def test_one_table_without_streams_while_the_others_have_them_is_new() -> None:
    first = CFG.dynamodb.tables[0].name
    assert len(CFG.dynamodb.tables) > 1

    def describe_table(TableName: str) -> dict[str, Any]:  # noqa: N803 - boto3's argument name
        on = TableName != first
        return {"Table": {"StreamSpecification": {"StreamEnabled": on},
                          "Replicas": [{"RegionName": DR}] if on else []}}

    problems = _auditor(describe_table=describe_table).dynamodb()[0]
    assert problems and all(first in p for p in problems) and not _absent(problems)


def test_no_failover_record_at_all_is_the_known_gap_and_one_left_out_is_new(monkeypatch: pytest.MonkeyPatch) -> None:
    from drill.ops import route53

    wanted = [r for r in CFG.route53.records if r.routing == "failover"]
    assert len(wanted) > 1

    def sets(*records: Any) -> list[dict[str, Any]]:
        return [{"Name": r.name.rstrip(".") + ".", "Type": r.type, "Failover": kind}
                for r in records for kind in ("PRIMARY", "SECONDARY")]

    monkeypatch.setattr(route53, "record_sets", lambda t: [{"Name": r.name + ".", "Type": r.type} for r in wanted])
    assert _absent(_auditor().failover_records()[0])
    monkeypatch.setattr(route53, "record_sets", lambda t: sets(*wanted[1:]))
    problems = _auditor().failover_records()[0]
    assert len(problems) == 1 and wanted[0].name in problems[0] and not _absent(problems)


def test_no_ecr_rule_is_the_known_gap() -> None:
    assert _absent(_auditor(describe_registry={"replicationConfiguration": {"rules": []}}).ecr()[0])


def test_no_origin_group_is_the_known_gap_and_a_group_nobody_routes_to_is_new() -> None:
    cf = CFG.cloudfront
    dist = {"DistributionList": {"Items": [{"Id": "E1", "Comment": cf.distribution_id}]}}
    origins = {"Items": [{"Id": cf.origin_bucket, "DomainName": "a"}, {"Id": cf.failover_bucket, "DomainName": "b"}]}
    group = {"Id": "g", "Members": {"Items": [{"OriginId": cf.origin_bucket}, {"OriginId": cf.failover_bucket}]}}
    none = _auditor(list_distributions=dist, get_distribution_config={"DistributionConfig": {
        "Origins": origins, "DefaultCacheBehavior": {"TargetOriginId": cf.origin_bucket}}})
    assert _absent(none.cloudfront()[0])
    unused = _auditor(list_distributions=dist, get_distribution_config={"DistributionConfig": {
        "Origins": origins, "OriginGroups": {"Items": [group]}, "DefaultCacheBehavior": {"TargetOriginId": cf.origin_bucket}}})
    problems = unused.cloudfront()[0]
    assert problems and not _absent(problems)
    used = _auditor(list_distributions=dist, get_distribution_config={"DistributionConfig": {
        "Origins": origins, "OriginGroups": {"Items": [group]}, "DefaultCacheBehavior": {"TargetOriginId": "g"}}})
    assert used.cloudfront()[0] == []


def test_a_missing_distribution_is_not_the_origin_failover_gap() -> None:
    problems = _auditor(list_distributions={"DistributionList": {"Items": []}}).cloudfront()[0]
    assert problems and not _absent(problems)
