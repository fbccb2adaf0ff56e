"""The calls each step of the engine makes, as declarations for the plan and the IAM policy.

Each function takes the account context and returns the calls (AWS with resource ARNs, or
Kubernetes, database, DNS, HTTP, Slack) one step makes. A step names the ones it uses beside its
definition (``steps/``); a test holds the declarations against what a drill really called.
"""

from __future__ import annotations

from drill.core.aws import CANARY_PREFIX, PROBE_PREFIX
from drill.core.calls import GLOBAL, Call, Ctx, aws, other


def _hosts(c: Ctx) -> tuple[str, ...]:
    return tuple(c.cfg.fqdn(h) for h in c.cfg.routed_hosts())


def _lbs(c: Ctx) -> list[Call]:
    return [aws("elbv2", "DescribeLoadBalancers", c.region(r), "*", note="load balancer addresses and names")
            for r in ("primary", "dr")]


def _zone(c: Ctx) -> list[Call]:
    return [aws("route53", "ListHostedZones", GLOBAL, "*"),
            aws("route53", "ListResourceRecordSets", GLOBAL, c.zone())]


def _health(c: Ctx) -> list[Call]:
    return [aws("route53", "ListHealthChecks", GLOBAL, "*"),
            aws("route53", "GetHealthCheckStatus", GLOBAL, "arn:aws:route53:::healthcheck/*")]


def _login(c: Ctx, admin: bool = False) -> list[Call]:
    name = c.cfg.rds.admin_secret if admin else c.cfg.rds.login_secret
    return [aws("secretsmanager", "GetSecretValue", c.region(r), c.secret(r, name), note="the database login")
            for r in ("primary", "dr")]


def steady(c: Ctx) -> list[Call]:
    ha = c.cfg.route53.health_check.alarm
    return (_zone(c) + _health(c) + _lbs(c)
            + [aws("rds", "DescribeDBInstances", c.region(r), c.db(r)) for r in ("primary", "dr")]
            + [aws("cloudwatch", "GetMetricStatistics", c.region("dr"), "*", note="RDS ReplicaLag"),
               aws("cloudwatch", "DescribeAlarms", GLOBAL, c.alarm(GLOBAL, ha.name + "*"), note="health-check alarm")]
            + [other("dns", "resolver", "A records (TTL cached)", _hosts(c)),
               other("http", "users' entry", "GET " + c.cfg.route53.health_check.path, _hosts(c))])


def traffic(c: Ctx) -> list[Call]:
    out = [other("locust", "user traffic", f"{c.cfg.load.users} users", _hosts(c), note="in its own process")]
    out += _lbs(c)  # the logins are the canaries' (below)
    k = c.cfg.load.kubernetes
    if c.cfg.load.mode == "kubernetes" and k is not None:
        out.append(other("kubernetes", k.cluster, "create namespace (if missing) and deployment; list pods; delete "
                         "deployment (and the namespace it created)", [f"{k.namespace}/deployments/drill-load-*"],
                         True, f"{c.cfg.load.workers} load workers ({k.image}), removed at the end"))
    return out + canaries(c)


def canaries(c: Ctx) -> list[Call]:
    """The canary writers in each store of both regions, their reads and their removal at the end."""
    rate = c.cfg.measure.canary_rate
    out = [other("mysql", c.cfg.rds.database, "CREATE TABLE IF NOT EXISTS / INSERT canary rows",
                 [c.db("primary"), c.db("dr")], True,
                 f"{rate('rds'):g}/s on the writer (the DR instance once promoted), removed at the end")] + _login(c)
    for role in ("primary", "dr"):
        r = c.region(role)
        out += [aws("rds", "DescribeDBInstances", r, c.db(role), note="endpoint"),
                aws("dynamodb", "PutItem", r, c.tables(role), True, f"canary items, {rate('dynamodb'):g}/s"),
                aws("dynamodb", "Query", r, c.tables(role)), aws("dynamodb", "Scan", r, c.tables(role)),
                aws("dynamodb", "BatchWriteItem", r, c.tables(role), True, "canary cleanup: deletes, 25 a call"),
                aws("s3", "PutObject", r, c.drill_objects(role, CANARY_PREFIX), True, f"canary objects, {rate('s3'):g}/s"),
                aws("s3", "ListObjectsV2", r, c.buckets(role)),
                aws("s3", "ListObjectVersions", r, c.buckets(role), note="canary cleanup: every version"),
                aws("s3", "DeleteObjects", r, c.drill_objects(role, CANARY_PREFIX), True,
                    "canary cleanup: every version removed (a plain delete leaves them behind a marker)")]
    return out


def detect(c: Ctx) -> list[Call]:
    return _health(c) + _lbs(c)


def notices(c: Ctx) -> list[Call]:
    return [other("slack", "webhook", "POST notices of the communication plan",
                  sorted({st.channel for st in c.cfg.communication.plan}), note="communication.webhook_url")]


def alert(c: Ctx) -> list[Call]:
    ha = c.cfg.route53.health_check.alarm
    return [aws("cloudwatch", "DescribeAlarms", GLOBAL, c.alarm(GLOBAL, ha.name + "*")),
            aws("cloudwatch", "DescribeAlarmHistory", GLOBAL, c.alarm(GLOBAL, ha.name + "*")),
            aws("cloudwatch", "GetMetricStatistics", GLOBAL, "*", note="AWS/SNS NumberOfNotificationsDelivered"),
            aws("sns", "ListSubscriptionsByTopic", GLOBAL, f"arn:aws:sns:{GLOBAL}:{c.account}:{ha.topic}",
                note="the alarm topic's confirmed subscriptions"),
            other("slack", "web api", "conversations.list / conversations.history",
                  [c.cfg.route53.health_check.alert_channel], note="where a token is configured")]


def switch_records(c: Ctx, to: str = "DR") -> list[Call]:
    return _zone(c) + _lbs(c) + [
        aws("route53", "ChangeResourceRecordSets", GLOBAL, c.zone(), True,
            f"records of {', '.join(_hosts(c))} to the {to} load balancers"),
        aws("route53", "GetChange", GLOBAL, "arn:aws:route53:::change/*"),
        other("kubernetes", c.cfg.eks.dr.cluster, "list ingresses (load balancer of a host)", ["ingresses"])]


def served(c: Ctx) -> list[Call]:
    return _lbs(c) + [other("dns", "resolver", "A records (TTL cached)", _hosts(c)),
                      other("http", "users' entry", "GET health paths", _hosts(c))]


def promote(c: Ctx) -> list[Call]:
    return [aws("rds", "PromoteReadReplica", c.region("dr"), c.db("dr"), True, "section 5: promote the replica"),
            aws("rds", "DescribeDBInstances", c.region("dr"), c.db("dr"))] + _login(c)


def scale_dr(c: Ctx) -> list[Call]:
    cl = c.cfg.eks.dr
    return [aws("eks", "DescribeNodegroup", c.region("dr"), c.nodegroup("dr")),
            aws("eks", "UpdateNodegroupConfig", c.region("dr"), c.nodegroup("dr"), True,
                f"desired {c.cfg.eks.failover_nodes} nodes (min and max as the account has them)"),
            other("kubernetes", cl.cluster, "scale deployments; read nodes, deployments, daemonsets, pods",
                  [f"{c.cfg.app_namespace}/deployment/{w.deployment}" for w in c.cfg.workloads], True)]


def failover(c: Ctx) -> list[Call]:
    return promote(c) + switch_records(c) + scale_dr(c) + served(c)


def failover_with_canaries(c: Ctx) -> list[Call]:
    """The DR state a failback starts from: the failover, with canary writes running in DR."""
    return failover(c) + canaries(c)


def workloads(c: Ctx) -> list[Call]:
    return [other("kubernetes", c.cfg.eks.dr.cluster, "list deployments, daemonsets, pods", ["workloads"])]


def measure(c: Ctx) -> list[Call]:
    out = _login(c)
    for role in ("primary", "dr"):
        r = c.region(role)
        out += [aws("dynamodb", "Query", r, c.tables(role)), aws("dynamodb", "Scan", r, c.tables(role)),
                aws("s3", "ListObjectsV2", r, c.buckets(role))]
    return out


def failback(c: Ctx) -> list[Call]:
    p, d = c.region("primary"), c.region("dr")
    out = _health(c) + _lbs(c) + _login(c)
    for role, region, src in (("primary", p, "dr"), ("dr", d, "primary")):
        out += [aws("rds", "DescribeDBInstances", region, c.db(role)),
                aws("rds", "DeleteDBInstance", region, (c.db(role), c.snapshot(role)), True,
                    "after a final snapshot (FinalDBSnapshotIdentifier)"),
                aws("rds", "CreateDBSnapshot", region, (c.db(role), c.snapshot(role)), True, "the final snapshot"),
                aws("rds", "CreateDBInstanceReadReplica", region, (c.db(role), c.db(src), *c.rds_extras(role)), True,
                    "a new replica with the old instance's settings"),
                aws("rds", "ModifyDBInstance", region, c.db(role), True, "the old instance's backup retention"),
                aws("rds", "PromoteReadReplica", region, c.db(role), True)]
    out += [aws("s3", "PutBucketReplication", d, c.buckets("dr"), True, "reverse CRR, with the failback role"),
            aws("iam", "PassRole", GLOBAL, c.role(c.cfg.s3.failback_role), False, "the failback CRR role"),
            aws("s3", "GetBucketReplication", d, c.buckets("dr")),
            aws("s3", "DeleteBucketReplication", d, c.buckets("dr"), True, "reverse CRR off"),
            aws("s3", "ListObjectsV2", d, c.buckets("dr")), aws("s3", "ListObjectsV2", p, c.buckets("primary")),
            aws("s3", "GetObject", d, c.buckets("dr", True), note="CopyObject's source"),
            aws("s3", "CopyObject", p, c.buckets("primary", True), True, "sync DR objects back, with metadata")]
    out += switch_records(c, "primary")
    cl = c.cfg.eks.dr
    out += [aws("eks", "DescribeNodegroup", d, c.nodegroup("dr")),
            aws("eks", "UpdateNodegroupConfig", d, c.nodegroup("dr"), True, f"back to standby: {cl.nodes} nodes"),
            other("kubernetes", cl.cluster, "scale deployments back to standby",
                  [f"{c.cfg.app_namespace}/deployment/{w.deployment}" for w in c.cfg.workloads], True)]
    return out + measure(c)


def cognito(c: Ctx) -> list[Call]:
    out = []
    for role in ("primary", "dr"):
        r = c.region(role)
        out += [aws("cognito-idp", "ListUserPools", r, "*", note="pool id by name"),
                aws("cognito-idp", "ListUserPoolClients", r, c.pool(role)),
                aws("cognito-idp", "InitiateAuth", r, c.pool(role), note="USER_PASSWORD_AUTH"),
                aws("cognito-idp", "AdminGetUser", r, c.pool(role)),
                aws("cognito-idp", "AdminDeleteUser", r, c.pool(role), True, "the drill's test user, at the end")]
    p = c.region("primary")
    return out + [aws("cognito-idp", "SignUp", p, c.pool("primary"), True, "the drill's test user"),
                  aws("cognito-idp", "AdminConfirmSignUp", p, c.pool("primary"), True, "runs Post Confirmation"),
                  aws("cognito-idp", "AdminSetUserPassword", c.region("dr"), c.pool("dr"), True,
                      "the reset the failover notice asks for")]


def probes(c: Ctx) -> list[Call]:
    out = _login(c)
    for role in ("primary", "dr"):
        r = c.region(role)
        out += [aws("dynamodb", "PutItem", r, c.tables(role), True, "probe item, removed"),
                aws("dynamodb", "GetItem", r, c.tables(role)),
                aws("dynamodb", "DeleteItem", r, c.tables(role), True),
                aws("s3", "PutObject", r, c.drill_objects(role, PROBE_PREFIX), True, "probe object, removed"),
                aws("s3", "HeadObject", r, c.drill_objects(role, PROBE_PREFIX)),
                aws("s3", "ListObjectVersions", r, c.buckets(role)),
                aws("s3", "DeleteObjects", r, c.drill_objects(role, PROBE_PREFIX), True, "every version of the probe")]
    return out + [other("mysql", c.cfg.rds.database, "INSERT / SELECT / DELETE a probe row", [c.db("primary")], True)]


def compare(c: Ctx) -> list[Call]:
    out = _login(c) + [other("mysql", c.cfg.rds.database, "SELECT checksums of each table",
                             [c.db("primary"), c.db("dr")])]
    for role in ("primary", "dr"):
        r = c.region(role)
        out += [aws("dynamodb", "Scan", r, c.tables(role)), aws("s3", "ListObjectsV2", r, c.buckets(role)),
                aws("dynamodb", "DescribeTable", r, c.tables(role), note="its global-table replicas"),
                aws("ecr", "DescribeImages", r, f"arn:aws:ecr:{r}:{c.account}:repository/*"),
                aws("secretsmanager", "GetSecretValue", r, f"arn:aws:secretsmanager:{r}:{c.account}:secret:*",
                    note="hashed, never printed"),
                aws("cognito-idp", "ListUserPools", r, "*"), aws("cognito-idp", "ListUsers", r, c.pool(role))]
    return out


def cloudfront(c: Ctx) -> list[Call]:
    return [aws("cloudfront", "ListDistributions", GLOBAL, "*"),
            aws("cloudfront", "GetDistributionConfig", GLOBAL, f"arn:aws:cloudfront::{c.account}:distribution/*"),
            other("http", "front end", "GET /", [c.cfg.route53.zone])]


def health_settings(c: Ctx) -> list[Call]:
    return _zone(c) + _health(c) + _lbs(c) + [aws("route53", "GetHealthCheck", GLOBAL, "arn:aws:route53:::healthcheck/*")]


def session(c: Ctx) -> list[Call]:
    """Around every drill, whatever its scenarios: who the account is, the lock, the stop
    conditions, and the restore at the end (the runbook's state read; the policy's failback where
    runbook changes remain, as `drill failback` does)."""
    cfg = c.cfg
    bucket = cfg.lock.bucket or cfg.side("primary").buckets[0]
    lock = f"arn:aws:s3:::{bucket}/{cfg.lock.key}"
    out = [aws("sts", "GetCallerIdentity", GLOBAL, "*", note="the account, before any other call"),
           aws("s3", "GetObject", c.region("primary"), lock, note="the drill lock: who holds it"),
           aws("s3", "PutObject", c.region("primary"), lock, True, "the drill lock: taken, renewed (conditional)"),
           aws("s3", "ListObjectVersions", c.region("primary"), f"arn:aws:s3:::{bucket}",
               note="the drill lock: its versions"),
           aws("s3", "DeleteObjects", c.region("primary"), lock, True,
               "the drill lock: released, every renewal's version removed")]
    out += _lbs(c)
    if cfg.stop.alarms:
        out += [aws("cloudwatch", "DescribeAlarms", c.region(r), tuple(c.alarm(c.region(r), a) for a in cfg.stop.alarms),
                    note="stop conditions") for r in ("primary", "dr")]
    out += _zone(c) + [aws("rds", "DescribeDBInstances", c.region(r), c.db(r), note="runbook state")
                       for r in ("primary", "dr")]
    out += [aws("eks", "DescribeNodegroup", c.region("dr"), c.nodegroup("dr"), note="runbook state")]
    out += [aws("s3", "GetBucketReplication", c.region(r), c.buckets(r), note="runbook state: replication rules")
            for r in ("primary", "dr")]
    if cfg.history.bucket:
        h = f"arn:aws:s3:::{cfg.history.bucket}"
        r = cfg.history.region or c.region("primary")
        out += [aws("s3", "PutObject", r, f"{h}/{cfg.history.prefix}*", True, "the drill's reports, published"),
                aws("s3", "ListObjectsV2", r, h, note="the published drills, for the index"),
                aws("s3", "GetObject", r, f"{h}/{cfg.history.prefix}*", note="their result.json")]
    return out + steady(c) + failback(c)
