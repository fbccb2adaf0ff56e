"""The sabotage catalog: DR defects planted in a twin the way they happen on an account, each with
the scenario that must catch it, the step that must fail and words its message must contain.

Every plant goes through a public API an operator would use (boto3, kubectl); where the real
world has no API for a defect (a replication lag is a network condition) a twin-only knob plants
it and the defect says so (``twin_only``). ``held_out`` marks the plants an operator tried by hand
that the harness once missed. Used by tests/test_sabotage.py and bench/sabotage.py.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from drill.core.schema import Config

MONTHLY_SWITCH = ("monthly", "switched_by_hand")
MONTHLY_ALERT = ("monthly", "alert_reaches")
WEEKLY_DDB = ("weekly", "write_in_each_region")
WEEKLY_DELIVERS = ("weekly", "replication_delivers")
WEEKLY_MATCH = ("weekly", "data_match")
WEEKLY_FRONT = ("weekly", "front_end_fails_over")
QUARTERLY_FAILOVER = ("quarterly", "failover_under_load")
QUARTERLY_COGNITO = ("quarterly", "synced_by_the_trigger")


class Ops:
    """What an operator has: the account's APIs (as `drill sandbox env` gives them) and kubectl."""

    def __init__(self, env: dict[str, str], cfg: Config):
        self.env, self.cfg = env, cfg

    def aws(self, service: str, role_or_region: str = "primary") -> Any:
        region = self.cfg.side(role_or_region).region if role_or_region in ("primary", "dr") else role_or_region
        return boto3.client(service, region_name=region, endpoint_url=self.env["AWS_ENDPOINT_URL"],
                            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"])

    def kubectl(self, role: str, *args: str) -> str:
        res = subprocess.run(["kubectl", "--kubeconfig", self.env["KUBECONFIG"], "--context",
                              self.cfg.side(role).cluster.cluster, "-n", self.cfg.app_namespace, *args],
                             capture_output=True, text=True, timeout=30)
        if res.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {res.stderr.strip()}")
        return res.stdout

    def admin_sql(self, role: str, sql: str) -> None:
        import pymysql

        side = self.cfg.side(role)
        login = json.loads(self.aws("secretsmanager", role).get_secret_value(
            SecretId=self.cfg.rds.admin_secret)["SecretString"])
        ep = self.aws("rds", role).describe_db_instances(DBInstanceIdentifier=side.db.id)["DBInstances"][0]["Endpoint"]
        conn = pymysql.connect(host=ep["Address"], port=ep["Port"], user=login["username"],
                               password=login["password"], autocommit=True, connect_timeout=5)
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()


@dataclass
class Defect:
    name: str
    what: str  # how DR really breaks this way
    scenario: tuple[str, str]  # (cadence, -k selector)
    step: str  # words of the step that must fail
    words: tuple[str, ...]  # words its failure message must contain
    plant: Callable[[Ops], Any]
    revert: Callable[[Ops, Any], None] = lambda ops, state: None  # besides the twin's reset
    args: tuple[str, ...] = ()  # extra `drill run` arguments (a twin-only knob)
    twin_only: bool = False
    held_out: bool = False
    tags: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- plants


def _stop_replica(ops: Ops) -> None:
    ops.admin_sql("dr", "CALL mysql.rds_stop_replication")


def _scale_zero(deployment: str) -> Callable[[Ops], None]:
    return lambda ops: (ops.kubectl("dr", "scale", f"deployment/{deployment}", "--replicas=0"), None)[1]


def _bad_image(ops: Ops) -> None:
    image = next(w.image for w in ops.cfg.workloads if w.image and w.image.startswith("ecr:"))
    wl = next(w for w in ops.cfg.workloads if w.image == image)
    repo = image.split(":", 1)[1]
    uri = f"{ops.cfg.ecr.account}.dkr.ecr.{ops.cfg.regions.dr.name}.amazonaws.com/{repo}:no-such-tag"
    container = ops.kubectl("dr", "get", "deployment", wl.deployment, "-o",
                            "jsonpath={.spec.template.spec.containers[0].name}").strip()
    ops.kubectl("dr", "set", "image", f"deployment/{wl.deployment}", f"{container}={uri}")


def _node_group_max(n: int) -> Callable[[Ops], Any]:
    def plant(ops: Ops) -> None:
        cl = ops.cfg.eks.dr
        ops.aws("eks", "dr").update_nodegroup_config(clusterName=cl.cluster, nodegroupName=cl.node_group,
                                                     scalingConfig={"minSize": min(cl.min_nodes, n), "maxSize": n,
                                                                    "desiredSize": min(cl.nodes, n)})
    return plant


def _pool_id(ops: Ops, role: str) -> str:
    name = ops.cfg.side(role).pool.pool_name
    pools = ops.aws("cognito-idp", role).list_user_pools(MaxResults=60)["UserPools"]
    return next(p["Id"] for p in pools if p["Name"] == name)


def _remove_trigger(ops: Ops) -> dict[str, Any]:
    idp = ops.aws("cognito-idp", "primary")
    pool = _pool_id(ops, "primary")
    before = idp.describe_user_pool(UserPoolId=pool)["UserPool"].get("LambdaConfig", {})
    idp.update_user_pool(UserPoolId=pool, LambdaConfig={})
    return {"pool": pool, "lambda": before}


def _restore_trigger(ops: Ops, state: dict[str, Any]) -> None:
    ops.aws("cognito-idp", "primary").update_user_pool(UserPoolId=state["pool"], LambdaConfig=state["lambda"])


def _crr(bucket_index: int, disable: bool) -> Callable[[Ops], Any]:
    def plant(ops: Ops) -> None:
        s3 = ops.aws("s3", "primary")
        bucket = ops.cfg.s3.buckets[bucket_index].name
        if not disable:
            s3.delete_bucket_replication(Bucket=bucket)
            return
        conf = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
        for rule in conf["Rules"]:
            rule["Status"] = "Disabled"
        s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=conf)
    return plant


def _alarm_topic(ops: Ops) -> str:
    ha = ops.cfg.route53.health_check.alarm
    alarm = ops.aws("cloudwatch", "us-east-1").describe_alarms(AlarmNamePrefix=ha.name)["MetricAlarms"][0]
    return str(next(a for a in alarm["AlarmActions"] if a.startswith("arn:aws:sns:")))


def _unsubscribe(ops: Ops) -> list[dict[str, Any]]:
    sns = ops.aws("sns", "us-east-1")
    topic = _alarm_topic(ops)
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    for s in subs:
        sns.unsubscribe(SubscriptionArn=s["SubscriptionArn"])
    return [{"TopicArn": topic, "Protocol": s["Protocol"], "Endpoint": s["Endpoint"]} for s in subs]


def _resubscribe(ops: Ops, subs: list[dict[str, Any]]) -> None:
    for s in subs:
        ops.aws("sns", "us-east-1").subscribe(**s)


def _alarms_without_actions(ops: Ops) -> list[dict[str, Any]]:
    cw = ops.aws("cloudwatch", "us-east-1")
    alarms = cw.describe_alarms(AlarmNamePrefix=ops.cfg.route53.health_check.alarm.name)["MetricAlarms"]
    for alarm in alarms:
        cw.put_metric_alarm(**_alarm_args(alarm, actions=False))
    return list(alarms)


def _restore_alarms(ops: Ops, alarms: list[dict[str, Any]]) -> None:
    for alarm in alarms:
        ops.aws("cloudwatch", "us-east-1").put_metric_alarm(**_alarm_args(alarm))


def _alarm_args(alarm: dict[str, Any], actions: bool = True) -> dict[str, Any]:
    keys = ("AlarmName", "MetricName", "Namespace", "Statistic", "Dimensions", "Period", "EvaluationPeriods",
            "Threshold", "ComparisonOperator", "TreatMissingData", "AlarmActions", "OKActions")
    args = {k: alarm[k] for k in keys if k in alarm}
    if not actions:
        args["AlarmActions"], args["OKActions"] = [], []
    return args


def _stale_secret(ops: Ops) -> dict[str, Any]:
    """The DR copy made by hand instead of replicated, then the primary rotated."""
    name = ops.cfg.secrets[1].name
    p, d = ops.aws("secretsmanager", "primary"), ops.aws("secretsmanager", "dr")
    old = p.get_secret_value(SecretId=name)["SecretString"]
    p.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[ops.cfg.regions.dr.name])
    d.create_secret(Name=name, SecretString=old)
    p.put_secret_value(SecretId=name, SecretString=old + "-rotated")
    return {"name": name, "old": old}


def _restore_secret(ops: Ops, state: dict[str, Any]) -> None:
    p, d = ops.aws("secretsmanager", "primary"), ops.aws("secretsmanager", "dr")
    d.delete_secret(SecretId=state["name"], ForceDeleteWithoutRecovery=True)
    p.put_secret_value(SecretId=state["name"], SecretString=state["old"])
    p.replicate_secret_to_regions(SecretId=state["name"], AddReplicaRegions=[{"Region": ops.cfg.regions.dr.name}])


def _delete_dr_image(ops: Ops) -> dict[str, Any]:
    repo = ops.cfg.ecr.repositories[0]
    ecr = ops.aws("ecr", "dr")
    image = ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    got = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageDigest": image["imageDigest"]}])["images"][0]
    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": image["imageDigest"]}])
    return {"repo": repo, "manifest": got["imageManifest"], "tags": image.get("imageTags", [])}


def _restore_dr_image(ops: Ops, state: dict[str, Any]) -> None:
    ecr = ops.aws("ecr", "dr")
    for tag in state["tags"] or [None]:
        args = {"imageTag": tag} if tag else {}
        ecr.put_image(repositoryName=state["repo"], imageManifest=state["manifest"], **args)


def _drop_table_replica(ops: Ops) -> str:
    table = ops.cfg.dynamodb.tables[0].name
    ddb = ops.aws("dynamodb", "primary")
    ddb.update_table(TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": ops.cfg.regions.dr.name}}])
    return table


def _restore_table_replica(ops: Ops, table: str) -> None:
    ddb = ops.aws("dynamodb", "primary")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            ddb.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": ops.cfg.regions.dr.name}}])
            return
        except ddb.exceptions.ClientError:
            time.sleep(0.5)
    raise RuntimeError(f"could not add the {table} replica back")


def _origin_group_without_dr(ops: Ops) -> dict[str, Any]:
    cf = ops.aws("cloudfront", "us-east-1")
    dist = next(d for d in cf.list_distributions()["DistributionList"]["Items"]
                if ops.cfg.cloudfront.origin_bucket in json.dumps(d["Origins"]))
    got = cf.get_distribution_config(Id=dist["Id"])
    conf = json.loads(json.dumps(got["DistributionConfig"]))
    original = json.loads(json.dumps(conf))
    group = conf["OriginGroups"]["Items"][0]
    conf["DefaultCacheBehavior"]["TargetOriginId"] = group["Members"]["Items"][0]["OriginId"]
    cf.update_distribution(Id=dist["Id"], IfMatch=got["ETag"], DistributionConfig=conf)
    return {"id": dist["Id"], "config": original}


def _restore_origin_group(ops: Ops, state: dict[str, Any]) -> None:
    cf = ops.aws("cloudfront", "us-east-1")
    etag = cf.get_distribution_config(Id=state["id"])["ETag"]
    cf.update_distribution(Id=state["id"], IfMatch=etag, DistributionConfig=state["config"])


def _health_check_disabled(ops: Ops) -> None:
    r53 = ops.aws("route53", "us-east-1")
    for hc in r53.list_health_checks()["HealthChecks"]:
        r53.update_health_check(HealthCheckId=hc["Id"], Disabled=True)


def _health_check_threshold(n: int | None) -> Callable[..., None]:
    """Every health check's FailureThreshold set to ``n`` (None: the config's, as provisioned)."""
    def change(ops: Ops, *_: Any) -> None:
        r53 = ops.aws("route53", "us-east-1")
        for hc in r53.list_health_checks()["HealthChecks"]:
            r53.update_health_check(HealthCheckId=hc["Id"],
                                    FailureThreshold=n or ops.cfg.route53.health_check.failure_threshold)
    return change


def _dr_user_missing(ops: Ops) -> dict[str, Any]:
    """A user an admin created and confirmed in the primary pool: AdminCreateUser runs no Post
    Confirmation trigger, so the user never reaches the DR pool."""
    idp = ops.aws("cognito-idp", "primary")
    pool = _pool_id(ops, "primary")
    name = f"sabotage-admin-made@{ops.cfg.policy.domain}"
    idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": name}])
    idp.admin_set_user_password(UserPoolId=pool, Username=name, Password="Sabotage-Pw-1!", Permanent=True)
    return {"pool": pool, "user": name}


def _remove_user(ops: Ops, state: dict[str, Any]) -> None:
    ops.aws("cognito-idp", "primary").admin_delete_user(UserPoolId=state["pool"], Username=state["user"])


def _dr_object_missing(ops: Ops) -> dict[str, str]:
    """An object of a bucket pair gone from its DR bucket (deleted there, as a lifecycle rule or a
    hand would): CRR does not send it again."""
    pair = ops.cfg.s3.buckets[1]
    key = "sabotage/dr-object-missing.txt"
    ops.aws("s3", "primary").put_object(Bucket=pair.name, Key=key, Body=b"kept in the primary only")
    dr = ops.aws("s3", "dr")
    end = time.monotonic() + 30
    while dr.list_objects_v2(Bucket=pair.dr, Prefix=key).get("KeyCount", 0) == 0:
        if time.monotonic() > end:
            raise RuntimeError(f"{key} never replicated to {pair.dr}")
        time.sleep(0.2)
    dr.delete_object(Bucket=pair.dr, Key=key)
    return {"bucket": pair.name, "key": key}


def _delete_grafana(ops: Ops) -> None:
    hosts = [w for w in ops.cfg.workloads if w.kind == "host" and w.host]
    wl = next((w for w in hosts if w.host == "grafana"), hosts[0])
    ops.kubectl("dr", "delete", "deployment", wl.deployment)


def _app_deployment(cfg_workloads: Any) -> str:
    return str(next(w.deployment for w in cfg_workloads if w.kind == "app"))


def _alert_to_other_channel(ops: Ops) -> dict[str, str]:
    lam = ops.aws("lambda", "us-east-1")
    fn = ops.cfg.communication.alert_function
    env = dict(lam.get_function_configuration(FunctionName=fn)["Environment"]["Variables"])
    lam.update_function_configuration(FunctionName=fn, Environment={"Variables": {**env, "SLACK_CHANNEL": "#random"}})
    return env


def _restore_alert_channel(ops: Ops, env: dict[str, str]) -> None:
    ops.aws("lambda", "us-east-1").update_function_configuration(
        FunctionName=ops.cfg.communication.alert_function, Environment={"Variables": env})


def _dr_front_denied(ops: Ops) -> str:
    bucket = ops.cfg.cloudfront.failover_bucket
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "SabotageDenyReads", "Effect": "Deny", "Principal": "*",
                                                      "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    ops.aws("s3", "dr").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return bucket


ERRANT_ID = 2_000_000_001  # far above what the primary's auto-increment reaches: no clash with replication


def _errant_write_on_replica(ops: Ops) -> str:
    table = next((w.data or "").split(":", 1)[1] for w in ops.cfg.workloads if (w.data or "").startswith("rds:"))
    ops.admin_sql("dr", f"INSERT INTO `{ops.cfg.rds.database}`.`{table}` (id, name, owner, region, created_at) "
                        f"VALUES ({ERRANT_ID}, 'errant', 'sabotage', 'dr', NOW(6))")
    return table


def _remove_errant_write(ops: Ops, table: str) -> None:
    ops.admin_sql("dr", f"DELETE FROM `{ops.cfg.rds.database}`.`{table}` WHERE id = {ERRANT_ID}")


def catalog(cfg: Config) -> list[Defect]:
    rds_rpo = float(cfg.budgets.rpo_s["rds"])
    return [
        Defect("replica_not_replicating", "the DR replica's replication stopped (mysql.rds_stop_replication)",
               WEEKLY_DELIVERS, "steady state", ("replica",), _stop_replica),
        Defect("dr_alb_503", "Tokyo's load balancer has no healthy targets for a service: it answers 503",
               MONTHLY_SWITCH, "pointed at the DR region", ("503",), _scale_zero(_app_deployment(cfg.workloads))),
        Defect("dr_pods_never_ready", "a DR deployment's image does not exist in Tokyo's ECR: pods never Ready",
               MONTHLY_SWITCH, "pointed at the DR region", ("503",), _bad_image),
        Defect("dr_node_group_max_2", "the DR node group's max size (2) is below the policy's failover size",
               QUARTERLY_FAILOVER, "the runbook fails over", ("max",), _node_group_max(2), held_out=True),
        Defect("post_confirmation_trigger_removed", "the primary pool's Post Confirmation trigger is gone",
               QUARTERLY_COGNITO, "synced the user to the DR user pool", ("DR",), _remove_trigger, _restore_trigger),
        Defect("bucket_without_crr_rule", "one bucket has no CRR rule",
               WEEKLY_DELIVERS, "arrives in its DR bucket", (cfg.s3.buckets[2].name,), _crr(2, disable=False)),
        Defect("crr_rule_disabled", "one bucket's CRR rule is set to Disabled",
               WEEKLY_DELIVERS, "arrives in its DR bucket", (cfg.s3.buckets[1].name,), _crr(1, disable=True),
               held_out=True),
        Defect("alarm_without_subscription", "the health check's alarm topic has no subscription",
               MONTHLY_ALERT, "its topic delivers", ("deliver",), _unsubscribe, _resubscribe),
        Defect("alarm_without_actions", "the health checks' alarms notify nobody (no alarm actions)",
               MONTHLY_ALERT, "its topic delivers", ("deliver",), _alarms_without_actions,
               _restore_alarms),
        Defect("health_check_disabled", "the Route 53 health check is disabled (never reports a failure)",
               MONTHLY_ALERT, "goes unhealthy", ("reports the failure",), _health_check_disabled),
        Defect("health_check_threshold_10", "the health checks' failure threshold raised to 10 (the outage "
               "is reported minutes later than the policy's interval x threshold)", MONTHLY_ALERT,
               "has the policy's settings", ("threshold (", ", 10)"), _health_check_threshold(10),
               _health_check_threshold(None)),
        Defect("stale_secret_replica", "the DR copy of a secret is a hand-made stale copy, not a replica",
               WEEKLY_MATCH, "the secrets copies match", (cfg.secrets[1].name,), _stale_secret, _restore_secret),
        Defect("image_missing_in_dr_ecr", "an image is missing in Tokyo's ECR",
               WEEKLY_MATCH, "the ecr copies match", (cfg.ecr.repositories[0],), _delete_dr_image, _restore_dr_image),
        Defect("global_table_without_dr_replica", "a global table has no Tokyo replica",
               WEEKLY_DDB, "shows in the other region", (cfg.dynamodb.tables[0].name,), _drop_table_replica,
               _restore_table_replica),
        Defect("front_without_origin_group", "CloudFront's default behaviour targets the primary origin alone, "
               "not the origin group with the DR origin", WEEKLY_FRONT, "origin group with the DR origin",
               ("origin group",),
               _origin_group_without_dr, _restore_origin_group),
        Defect("dr_user_missing", "a confirmed user of the primary pool is missing in the DR pool (made by an admin)",
               WEEKLY_MATCH, "the cognito copies match", ("sabotage-admin-made",), _dr_user_missing, _remove_user),
        Defect("dr_object_missing", "an object of a bucket pair is missing in its DR bucket",
               WEEKLY_MATCH, "the s3 copies match", (cfg.s3.buckets[1].dr,), _dr_object_missing,
               lambda ops, st: ops.aws("s3", "primary").delete_object(Bucket=st["bucket"], Key=st["key"])),
        Defect("grafana_deleted_in_dr", "kubectl delete deployment grafana on the DR cluster",
               MONTHLY_SWITCH, "pointed at the DR region", ("503",), _delete_grafana, held_out=True),
        Defect("alert_to_another_channel", "the alert Lambda posts to #random, not the policy's channel "
               "(its SLACK_CHANNEL changed)", MONTHLY_ALERT, "reaches the policy's Slack channel",
               (cfg.route53.health_check.alert_channel,), _alert_to_other_channel, _restore_alert_channel),
        Defect("dr_front_origin_denied", "the DR origin bucket's policy denies reads (CloudFront's failover "
               "origin answers 403)", WEEKLY_FRONT, "the front end is still served", ("front end answered HTTP",),
               _dr_front_denied, lambda ops, bucket: ops.aws("s3", "dr").delete_bucket_policy(Bucket=bucket)),
        Defect("errant_write_on_dr_replica", "a row written by hand on the DR replica (an errant transaction): "
               "the copies differ", WEEKLY_MATCH, "the rds copies match", ("rds",), _errant_write_on_replica,
               _remove_errant_write),
        Defect("replication_lag_over_rpo", f"RDS replication runs {rds_rpo * 1.6:g} s behind (budget {rds_rpo:g} s)",
               WEEKLY_DELIVERS, "a probe row arrives in the DR database", ("rds row",), lambda ops: None,
               args=("--set", f"sandbox.rds.replication_delay_s={rds_rpo * 1.6:g}"), twin_only=True),
    ]


def deadline_s(cadence: str) -> int:
    """Every wait's deadline in a catalog run: short, so a defect fails fast; the quarterly
    failover's runbook actions on the twin need longer."""
    return 20 if cadence == "quarterly" else 10


@dataclass
class Outcome:
    defect: Defect
    caught: bool
    exit_code: int
    step: str | None
    error: str | None
    why: str
    seconds: float


def run_case(defect: Defect, ops: Ops, twin: Any, run: Callable[..., Any], reports: Path) -> Outcome:
    """Plant, run the one scenario that must catch it, revert, reset the twin; judge."""
    started = time.monotonic()
    cadence, select = defect.scenario
    state = defect.plant(ops)
    try:
        res = run("run", "--cadence", cadence, "-k", select, "--reports", str(reports),
                  "--set", f"measure.action_deadline_s={deadline_s(cadence)}", *defect.args)
    finally:
        try:
            defect.revert(ops, state)
        finally:
            twin.reset()
    folders = sorted(d for d in reports.iterdir() if (d / "result.json").exists())
    if not folders:
        return Outcome(defect, False, res.returncode, None, None, f"no report: {res.stderr[-300:]}",
                       time.monotonic() - started)
    result = json.loads((folders[-1] / "result.json").read_text())
    failed = [s for s in result["scenarios"] if s["status"] != "passed"]
    step, error = (failed[0].get("step"), failed[0].get("error")) if failed else (None, None)
    why = ""
    if res.returncode != 1:
        why = f"exit {res.returncode}, not 1"
    elif not failed:
        why = "every scenario passed"
    elif defect.step not in str(step):
        why = f"failed at another step: {step!r}"
    elif not all(w in str(error) for w in defect.words):
        why = f"message lacks {defect.words}: {str(error)[:200]}"
    return Outcome(defect, not why, res.returncode, step, error, why, time.monotonic() - started)
