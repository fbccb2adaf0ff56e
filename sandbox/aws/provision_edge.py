"""Provision the edge of a policy's topology: functions, user pools, CloudFront, DNS and alarms.

The functions are the account's two Lambdas on the drill's paths (the alert poster, the Cognito
sync trigger); the twin stands in for their runtime by handler name (``sandbox.aws.lambdas``). The
health check's alarm lives in us-east-1 (where Route 53 publishes its metrics) and notifies a
topic whose Lambda subscription posts to Slack: the policy's alert path.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from drill.core.schema import Config
from sandbox.aws.provision import ClientFactory, Inventory, Secrets

GLOBAL = "us-east-1"  # Route 53, CloudFront and Route 53's metrics answer here


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def _function(client: ClientFactory, region: str, account: str, name: str, handler: str,
              env: dict[str, str]) -> str:
    fn = client("lambda", region).create_function(
        FunctionName=name, Runtime="python3.12", Role=f"arn:aws:iam::{account}:role/drill-lambda-exec",
        Handler=handler, Code={"ZipFile": _zip()}, Environment={"Variables": env})
    return str(fn["FunctionArn"])


def functions(cfg: Config, client: ClientFactory, roles: dict[str, str], inv: Inventory, secrets: Secrets) -> None:
    inv.topic_arns["alert_function"] = _function(
        client, GLOBAL, inv.account_id, cfg.communication.alert_function, "alert_to_slack.handler",
        {"SLACK_WEBHOOK_URL": secrets.slack_webhook, "SLACK_CHANNEL": cfg.route53.health_check.alert_channel})


def cognito(cfg: Config, client: ClientFactory, roles: dict[str, str], inv: Inventory) -> None:
    for role in ("dr", "primary"):  # DR first: the sync trigger names the DR pool
        pool_cfg = cfg.side(role).pool
        idp = client("cognito-idp", roles[role])
        kwargs: dict[str, Any] = {"PoolName": pool_cfg.pool_name, "AutoVerifiedAttributes": ["email"]}
        if role == "primary" and cfg.cognito.sync:
            kwargs["LambdaConfig"] = {"PostConfirmation": _function(
                client, roles["primary"], inv.account_id, cfg.cognito.sync_function, "cognito_sync.handler",
                {"DR_USER_POOL_ID": inv.pools["dr"]["pool_id"], "DR_REGION": roles["dr"]})}
        pool = idp.create_user_pool(**kwargs)["UserPool"]
        app = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName=pool_cfg.client_name,
                                          ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
        inv.pools[role] = {"pool_id": pool["Id"], "client_id": app["UserPoolClient"]["ClientId"]}


def cloudfront(cfg: Config, client: ClientFactory, roles: dict[str, str], gaps: set[str], inv: Inventory) -> None:
    cf = cfg.cloudfront

    def origin(bucket: str, region: str) -> dict[str, Any]:
        return {"Id": bucket, "DomainName": f"{bucket}.s3.{region}.amazonaws.com",
                "S3OriginConfig": {"OriginAccessIdentity": ""}}

    origins = [origin(cf.origin_bucket, roles["primary"])]
    groups: dict[str, Any] = {"Quantity": 0}
    target = cf.origin_bucket
    if "cloudfront_origin_failover" not in gaps:
        origins.append(origin(cf.failover_bucket, roles["dr"]))
        groups = {"Quantity": 1, "Items": [{
            "Id": "front-failover",
            "FailoverCriteria": {"StatusCodes": {"Quantity": 6, "Items": [403, 404, 500, 502, 503, 504]}},
            "Members": {"Quantity": 2, "Items": [{"OriginId": cf.origin_bucket}, {"OriginId": cf.failover_bucket}]}}]}
        target = "front-failover"
    dist = client("cloudfront", GLOBAL).create_distribution(DistributionConfig={
        "CallerReference": f"drill-{cf.distribution_id}", "Comment": cf.distribution_id, "Enabled": True,
        "Origins": {"Quantity": len(origins), "Items": origins}, "OriginGroups": groups,
        "DefaultCacheBehavior": {"TargetOriginId": target, "ViewerProtocolPolicy": cf.viewer_protocol_policy,
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False,
                                                                  "Cookies": {"Forward": "none"}}}})
    inv.distribution_id = dist["Distribution"]["Id"]
    inv.distribution_domain = dist["Distribution"]["DomainName"]


def route53(cfg: Config, client: ClientFactory, roles: dict[str, str], gaps: set[str], inv: Inventory,
            policy_interval_s: float | None = None) -> None:
    r53 = client("route53", GLOBAL)
    zone = r53.create_hosted_zone(Name=cfg.route53.zone, CallerReference="drill-zone")
    inv.zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    hc = cfg.route53.health_check
    interval = policy_interval_s or hc.interval_s
    if "route53_health_check" not in gaps:
        for alb in cfg.albs:
            dns = inv.albs[alb.name]["primary"]
            created = r53.create_health_check(CallerReference=f"drill-hc-{alb.name}", HealthCheckConfig={
                "Type": "HTTPS" if cfg.endpoints.scheme == "https" else "HTTP", "FullyQualifiedDomainName": dns,
                "Port": cfg.endpoints.port_or_default(), "ResourcePath": hc.path,
                # the policy's own interval (the API takes 10 or 30); a profile may run the twin's
                # checker faster, at route53.health_check.interval_s
                "RequestInterval": 10 if interval <= 10 else 30, "FailureThreshold": hc.failure_threshold})
            inv.health_checks[dns] = created["HealthCheck"]["Id"]
    changes: list[dict[str, Any]] = []
    ttl = max(1, int(round(cfg.route53.ttl_s)))
    follows_health = hc.used_for == "routing"
    for rec in cfg.route53.records:
        host = rec.name[: -len(cfg.route53.zone) - 1] if rec.name != cfg.route53.zone else ""
        if rec.target == "cloudfront":
            changes.append(_record(rec.name, rec.type, inv.distribution_domain, "Z2FDTNDATAQYW2", ttl))
            continue
        alb_name = cfg.alb_for_host(host).name
        primary_dns, dr_dns = inv.albs[alb_name]["primary"], inv.albs[alb_name]["dr"]
        if rec.routing == "failover" and "route53_failover" not in gaps:
            for ident, dns in (("PRIMARY", primary_dns), ("SECONDARY", dr_dns)):
                change = _record(rec.name, rec.type, dns, inv.alb_zone_ids[dns], ttl)
                rrs = change["ResourceRecordSet"]
                rrs["SetIdentifier"] = f"{host}-{ident.lower()}"
                rrs["Failover"] = ident
                if ident == "PRIMARY" and follows_health and primary_dns in inv.health_checks:
                    rrs["HealthCheckId"] = inv.health_checks[primary_dns]
                changes.append(change)
        else:
            changes.append(_record(rec.name, rec.type, primary_dns, inv.alb_zone_ids[primary_dns], ttl))
    r53.change_resource_record_sets(HostedZoneId=inv.zone_id, ChangeBatch={"Changes": changes})


def _record(name: str, rtype: str, dns: str, zone_id: str, ttl: int) -> dict[str, Any]:
    rrs: dict[str, Any] = {"Name": name, "Type": rtype}
    if rtype == "CNAME":
        rrs.update(TTL=ttl, ResourceRecords=[{"Value": dns}])
    else:
        rrs["AliasTarget"] = {"HostedZoneId": zone_id, "DNSName": dns, "EvaluateTargetHealth": False}
    return {"Action": "CREATE", "ResourceRecordSet": rrs}


def alarms(cfg: Config, client: ClientFactory, roles: dict[str, str], inv: Inventory,
           policy_alarm_period_s: int | None = None) -> None:
    """The policy's alarms in each region and the health checks' alarms in us-east-1, each region's
    topic subscribed by the alert function (the alert path of section 10)."""
    topic_name = cfg.route53.health_check.alarm.topic
    fn = inv.topic_arns["alert_function"]
    for region in sorted(set(roles.values()) | {GLOBAL}):
        sns = client("sns", region)
        topic = sns.create_topic(Name=topic_name)["TopicArn"]
        inv.topic_arns[region] = topic
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)
    for region in roles.values():
        cw = client("cloudwatch", region)
        for alarm in cfg.monitoring.alarms:
            cw.put_metric_alarm(AlarmName=alarm.name, Namespace=alarm.namespace, MetricName=alarm.metric,
                                Statistic="Average", Period=alarm.period_s, EvaluationPeriods=1,
                                Threshold=alarm.threshold, ComparisonOperator="GreaterThanThreshold",
                                AlarmActions=[inv.topic_arns[region]], AlarmDescription=alarm.severity)
    ha = cfg.route53.health_check.alarm
    cw = client("cloudwatch", GLOBAL)
    for n, (dns, hc_id) in enumerate(sorted(inv.health_checks.items())):
        cw.put_metric_alarm(AlarmName=ha.name if n == 0 else f"{ha.name}-{n + 1}", Namespace="AWS/Route53",
                            MetricName="HealthCheckStatus", Dimensions=[{"Name": "HealthCheckId", "Value": hc_id}],
                            Statistic="Minimum", Period=ha.period_s, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="LessThanThreshold", AlarmActions=[inv.topic_arns[GLOBAL]],
                            OKActions=[inv.topic_arns[GLOBAL]],
                            AlarmDescription=f"Route 53 health check of {dns}: {cfg.route53.health_check.alert_channel}")


def adopt_ids(cfg: Config, cognito_backend: Any, inv: Inventory) -> None:
    """Twin-only, in the emulator's process: give the pools and app clients the ids the policy
    names (an account has them; moto makes up its own), so the config reads as it would on the account."""
    for role in ("primary", "dr"):
        side = cfg.side(role)
        backend = cognito_backend(side.region)
        pool_id, client_id = inv.pools[role]["pool_id"], inv.pools[role]["client_id"]
        pool = backend.user_pools[pool_id]
        if side.pool.pool_id and side.pool.pool_id != pool_id:
            del backend.user_pools[pool_id]
            pool.id, pool.arn = side.pool.pool_id, pool.arn.rsplit("/", 1)[0] + "/" + side.pool.pool_id
            backend.user_pools[pool.id] = pool
            for c in pool.clients.values():
                c.user_pool_id = pool.id
            inv.pools[role]["pool_id"] = pool.id
        if side.pool.client_id and side.pool.client_id != client_id:
            app = pool.clients.pop(client_id)
            app.id = side.pool.client_id
            pool.clients[app.id] = app
            inv.pools[role]["client_id"] = app.id
