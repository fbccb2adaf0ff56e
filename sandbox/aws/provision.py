"""Provision the policy's two-region topology with ordinary boto3 calls.

Nothing here is moto-specific: the same calls seed a LocalStack (or describe what a real
account should hold). ``posture="policy"`` builds the setup the policy describes once its
known gaps are fixed; ``posture="as-is"`` leaves out exactly the gaps listed in
``known_gaps`` (section 7), so an audit has something true to find.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drill.config import Config

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client


@dataclass
class Inventory:
    """What the provisioner made that other parts need (ids the API generated)."""

    account_id: str = ""
    zone_id: str = ""
    albs: dict[str, dict[str, str]] = field(default_factory=dict)  # alb name -> role -> DNS name
    alb_zone_ids: dict[str, str] = field(default_factory=dict)  # DNS name -> canonical zone id
    health_checks: dict[str, str] = field(default_factory=dict)  # primary ALB DNS -> health check id
    distribution_id: str = ""
    pools: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> {pool_id, client_id}
    secret_values: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # gap keys left out (posture as-is)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data.pop("secret_values")
        return data


def alb_dr_name(name: str) -> str:
    return (name[:29] + "-dr") if len(name) > 29 else name + "-dr"


def provision(cfg: Config, client: ClientFactory, posture: str = "policy",
              rds_endpoints: dict[str, tuple[str, int]] | None = None,
              rds_password: str = "", policy_interval_s: float | None = None) -> Inventory:
    gaps: set[str] = {str(g.key) for g in cfg.known_gaps} if posture == "as-is" else set()
    inv = Inventory(skipped=sorted(gaps))
    roles = {"primary": cfg.regions.primary.name, "dr": cfg.regions.dr.name}
    inv.account_id = client("sts", roles["primary"]).get_caller_identity()["Account"]

    subnets = _network(cfg, client, roles)
    _iam(cfg, client)
    _kms_acm(cfg, client, roles)
    _eks(cfg, client, roles, subnets)
    _albs(cfg, client, roles, subnets, inv)
    _rds(cfg, client, roles, rds_password)
    _dynamodb(cfg, client, roles, gaps)
    _s3(cfg, client, roles, inv)
    _ecr(cfg, client, roles, gaps, inv)
    _secrets(cfg, client, roles, inv)
    _cognito(cfg, client, roles, inv)
    _cloudfront(cfg, client, roles, gaps, inv)
    _route53(cfg, client, roles, gaps, inv, policy_interval_s)
    _alarms(cfg, client, roles, inv)
    return inv


def _tags(name: str) -> list[dict[str, str]]:
    return [{"Key": "Name", "Value": name}, {"Key": "drill:managed", "Value": "sandbox"}]


def _network(cfg: Config, client: ClientFactory, roles: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for role, region in roles.items():
        net = cfg.network.primary if role == "primary" else cfg.network.dr
        azs = (cfg.regions.primary if role == "primary" else cfg.regions.dr).azs or [region + "a"]
        ec2 = client("ec2", region)
        vpc = ec2.create_vpc(CidrBlock=net.cidr, TagSpecifications=[
            {"ResourceType": "vpc", "Tags": _tags(net.vpc)}])["Vpc"]["VpcId"]
        ec2.create_internet_gateway(TagSpecifications=[
            {"ResourceType": "internet-gateway", "Tags": _tags(net.vpc + "-igw")}])
        kinds: dict[str, list[str]] = {}
        for kind, cidrs in (("public", net.public_subnets), ("private", net.private_subnets),
                            ("db", net.db_subnets)):
            ids = []
            for i, cidr in enumerate(cidrs):
                sub = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=azs[i % len(azs)],
                                        TagSpecifications=[{"ResourceType": "subnet",
                                                            "Tags": _tags(f"{net.vpc}-{kind}-{i + 1}")}])
                ids.append(sub["Subnet"]["SubnetId"])
            kinds[kind] = ids
        kinds["vpc"] = [vpc]
        out[role] = kinds
    return out


def _iam(cfg: Config, client: ClientFactory) -> None:
    iam = client("iam", cfg.regions.primary.name)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for role in cfg.iam.roles:
        for name in (role, role + "-dr"):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)


def _kms_acm(cfg: Config, client: ClientFactory, roles: dict[str, str]) -> None:
    for region in roles.values():
        kms = client("kms", region)
        for alias in cfg.kms.aliases:
            key = kms.create_key(Description=f"{alias} ({region})")["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=alias, TargetKeyId=key)
        if cfg.acm.get("domain"):
            client("acm", region).request_certificate(DomainName=cfg.acm["domain"], ValidationMethod="DNS")


def _eks(cfg: Config, client: ClientFactory, roles: dict[str, str],
         subnets: dict[str, dict[str, list[str]]]) -> None:
    account = client("sts", roles["primary"]).get_caller_identity()["Account"]
    for role, region in roles.items():
        cl = cfg.cluster(role)
        eks = client("eks", region)
        role_arn = f"arn:aws:iam::{account}:role/eks-cluster-role" + ("-dr" if role == "dr" else "")
        eks.create_cluster(name=cl.cluster, version=cl.version, roleArn=role_arn,
                           resourcesVpcConfig={"subnetIds": subnets[role]["private"]})
        eks.create_nodegroup(
            clusterName=cl.cluster, nodegroupName=cl.node_group,
            scalingConfig={"minSize": cl.min_nodes, "maxSize": cl.max_nodes, "desiredSize": cl.nodes},
            subnets=subnets[role]["private"], instanceTypes=[cl.instance_type],
            nodeRole=f"arn:aws:iam::{account}:role/eks-node-role" + ("-dr" if role == "dr" else ""),
        )


def _albs(cfg: Config, client: ClientFactory, roles: dict[str, str],
          subnets: dict[str, dict[str, list[str]]], inv: Inventory) -> None:
    for alb in cfg.albs:
        inv.albs[alb.name] = {}
        for role, region in roles.items():
            name = alb.name if role == "primary" else alb_dr_name(alb.name)
            lb = client("elbv2", region).create_load_balancer(
                Name=name, Subnets=subnets[role]["public"], Scheme="internet-facing",
                Type="application")["LoadBalancers"][0]
            inv.albs[alb.name][role] = lb["DNSName"]
            inv.alb_zone_ids[lb["DNSName"]] = lb["CanonicalHostedZoneId"]


def _rds(cfg: Config, client: ClientFactory, roles: dict[str, str], password: str) -> None:
    rds_p = client("rds", roles["primary"])
    rds_d = client("rds", roles["dr"])
    for rds, inst in ((rds_p, cfg.rds.primary), (rds_d, cfg.rds.replica)):
        rds.create_db_subnet_group(DBSubnetGroupName=inst.subnet_group,
                                   DBSubnetGroupDescription=inst.subnet_group,
                                   SubnetIds=_db_subnets(client, rds.meta.region_name, cfg))
    primary = rds_p.create_db_instance(
        DBInstanceIdentifier=cfg.rds.primary.id, Engine=cfg.rds.engine,
        EngineVersion=cfg.rds.engine_version, DBInstanceClass=cfg.rds.instance_class,
        MasterUsername="admin", MasterUserPassword=password or os.urandom(8).hex(),
        AllocatedStorage=20, Port=cfg.rds.port, MultiAZ=cfg.rds.primary.multi_az,
        BackupRetentionPeriod=cfg.rds.backup_retention_days,
        PreferredBackupWindow=cfg.rds.primary.backup_window or "18:45-19:15",
        DBSubnetGroupName=cfg.rds.primary.subnet_group, DBName=cfg.rds.database,
    )["DBInstance"]
    rds_d.create_db_instance_read_replica(
        DBInstanceIdentifier=cfg.rds.replica.id, SourceDBInstanceIdentifier=primary["DBInstanceArn"],
        DBInstanceClass=cfg.rds.instance_class, MultiAZ=cfg.rds.replica.multi_az,
        DBSubnetGroupName=cfg.rds.replica.subnet_group, SourceRegion=roles["primary"],
    )


def _db_subnets(client: ClientFactory, region: str, cfg: Config) -> list[str]:
    net = cfg.network.primary if region == cfg.regions.primary.name else cfg.network.dr
    subs = client("ec2", region).describe_subnets(Filters=[{"Name": "cidr-block", "Values": net.db_subnets}])
    return [s["SubnetId"] for s in subs["Subnets"]]


def _dynamodb(cfg: Config, client: ClientFactory, roles: dict[str, str], gaps: set[str]) -> None:
    ddb = client("dynamodb", roles["primary"])
    for table in cfg.dynamodb.tables:
        keys = [{"AttributeName": table.hash_key, "KeyType": "HASH"}]
        attrs = [{"AttributeName": table.hash_key, "AttributeType": "S"}]
        if table.range_key:
            keys.append({"AttributeName": table.range_key, "KeyType": "RANGE"})
            attrs.append({"AttributeName": table.range_key, "AttributeType": "S"})
        ddb.create_table(TableName=table.name, KeySchema=keys, AttributeDefinitions=attrs,
                         BillingMode="PAY_PER_REQUEST")
        if "dynamodb_streams" in gaps:
            continue
        ddb.update_table(TableName=table.name, StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        ddb.update_table(TableName=table.name, ReplicaUpdates=[{"Create": {"RegionName": roles["dr"]}}])


def _s3(cfg: Config, client: ClientFactory, roles: dict[str, str], inv: Inventory) -> None:
    s3p, s3d = client("s3", roles["primary"]), client("s3", roles["dr"])
    for pair in cfg.s3.buckets:
        for s3, name, region in ((s3p, pair.name, roles["primary"]), (s3d, pair.dr, roles["dr"])):
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3p.put_bucket_replication(Bucket=pair.name, ReplicationConfiguration={
            "Role": f"arn:aws:iam::{inv.account_id}:role/s3-crr",
            "Rules": [{"ID": f"crr-{pair.name}", "Status": "Enabled", "Priority": 1,
                       "Filter": {"Prefix": ""}, "DeleteMarkerReplication": {"Status": "Enabled"},
                       "Destination": {"Bucket": f"arn:aws:s3:::{pair.dr}"}}]})
    front = cfg.cloudfront.origin_bucket
    s3p.put_object(Bucket=front, Key="index.html", Body=b"<html><body>portforge</body></html>",
                   ContentType="text/html")


def _ecr(cfg: Config, client: ClientFactory, roles: dict[str, str], gaps: set[str], inv: Inventory) -> None:
    ecr_p = client("ecr", roles["primary"])
    for repo in cfg.ecr.repositories:
        ecr_p.create_repository(repositoryName=repo)
    if "ecr_replication" in gaps:
        return
    ecr_p.put_replication_configuration(replicationConfiguration={"rules": [{
        "destinations": [{"region": roles["dr"], "registryId": inv.account_id}]}]})
    ecr_d = client("ecr", roles["dr"])
    for repo in cfg.ecr.repositories:
        ecr_d.create_repository(repositoryName=repo)


def _secrets(cfg: Config, client: ClientFactory, roles: dict[str, str], inv: Inventory) -> None:
    sm = client("secretsmanager", roles["primary"])
    for secret in cfg.secrets:
        value = "sbx-" + os.urandom(12).hex()  # a real-looking secret the drill must never leak
        inv.secret_values[secret.name] = value
        sm.create_secret(Name=secret.name, SecretString=json.dumps({"value": value}),
                         AddReplicaRegions=[{"Region": roles["dr"]}])


def _cognito(cfg: Config, client: ClientFactory, roles: dict[str, str], inv: Inventory) -> None:
    for role, region in roles.items():
        pool_cfg = cfg.cognito.primary if role == "primary" else cfg.cognito.dr
        idp = client("cognito-idp", region)
        kwargs: dict[str, Any] = {"PoolName": pool_cfg.pool_name}
        if role == "primary" and cfg.cognito.sync:
            kwargs["LambdaConfig"] = {"PostConfirmation":
                                      f"arn:aws:lambda:{region}:{inv.account_id}:function:cognito-dr-sync"}
        pool = idp.create_user_pool(**kwargs)["UserPool"]
        app = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName=pool_cfg.client_name,
                                          ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH",
                                                             "ALLOW_REFRESH_TOKEN_AUTH"])
        inv.pools[role] = {"pool_id": pool["Id"], "client_id": app["UserPoolClient"]["ClientId"]}
    # a user synced by the Post Confirmation trigger: same username and attributes in the DR pool,
    # but no password (Cognito never exports password hashes; the policy's notice asks users to
    # reset theirs after a switchover)
    user = cfg.cognito.test_user
    password = "Sbx-" + os.urandom(9).hex() + "!A1"
    inv.secret_values["cognito_test_user_password"] = password
    for role, region in roles.items():
        idp = client("cognito-idp", region)
        idp.admin_create_user(UserPoolId=inv.pools[role]["pool_id"], Username=user, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": user}, {"Name": "email_verified", "Value": "true"}])
        if role == "primary":
            idp.admin_set_user_password(UserPoolId=inv.pools[role]["pool_id"], Username=user, Password=password,
                                        Permanent=True)


def _cloudfront(cfg: Config, client: ClientFactory, roles: dict[str, str], gaps: set[str],
                inv: Inventory) -> None:
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
            "FailoverCriteria": {"StatusCodes": {"Quantity": 4, "Items": [500, 502, 503, 504]}},
            "Members": {"Quantity": 2, "Items": [{"OriginId": cf.origin_bucket},
                                                  {"OriginId": cf.failover_bucket}]}}]}
        target = cf.origin_bucket  # moto accepts only an origin id here; the group is stored
    dist = client("cloudfront", "us-east-1").create_distribution(DistributionConfig={
        "CallerReference": f"drill-{cf.distribution_id}", "Comment": cf.distribution_id, "Enabled": True,
        "Origins": {"Quantity": len(origins), "Items": origins}, "OriginGroups": groups,
        "DefaultCacheBehavior": {"TargetOriginId": target,
                                 "ViewerProtocolPolicy": cf.viewer_protocol_policy,
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False,
                                                                  "Cookies": {"Forward": "none"}}},
    })
    inv.distribution_id = dist["Distribution"]["Id"]


def _route53(cfg: Config, client: ClientFactory, roles: dict[str, str], gaps: set[str],
             inv: Inventory, policy_interval_s: float | None = None) -> None:
    r53 = client("route53", "us-east-1")
    zone = r53.create_hosted_zone(Name=cfg.route53.zone, CallerReference="drill-zone")
    inv.zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    hc = cfg.route53.health_check
    api_interval_s = policy_interval_s or hc.interval_s
    if "route53_health_check" not in gaps:
        for alb in cfg.albs:
            dns = inv.albs[alb.name]["primary"]
            created = r53.create_health_check(CallerReference=f"drill-hc-{alb.name}", HealthCheckConfig={
                "Type": "HTTP", "FullyQualifiedDomainName": dns, "Port": 80, "ResourcePath": hc.path,
                # the policy's own interval (the API takes 10 or 30); a profile may run the sandbox
                # checker faster, at route53.health_check.interval_s
                "RequestInterval": 10 if api_interval_s <= 10 else 30,
                "FailureThreshold": hc.failure_threshold})
            inv.health_checks[dns] = created["HealthCheck"]["Id"]
    changes: list[dict[str, Any]] = []
    ttl = max(1, int(cfg.route53.ttl_s))
    for rec in cfg.route53.records:
        host = rec.name[: -len(cfg.route53.zone) - 1] if rec.name != cfg.route53.zone else ""
        if rec.target == "cloudfront":
            changes.append(_record(rec.name, rec.type, f"{inv.distribution_id}.cloudfront.net".lower(),
                                   "Z2FDTNDATAQYW2", ttl))
            continue
        alb_name = cfg.alb_for_host(host).name
        primary_dns, dr_dns = inv.albs[alb_name]["primary"], inv.albs[alb_name]["dr"]
        if rec.routing == "failover" and "route53_failover" not in gaps:
            for ident, dns in (("PRIMARY", primary_dns), ("SECONDARY", dr_dns)):
                change = _record(rec.name, rec.type, dns, inv.alb_zone_ids[dns], ttl)
                rrs = change["ResourceRecordSet"]
                rrs["SetIdentifier"] = f"{host}-{ident.lower()}"
                rrs["Failover"] = ident
                if ident == "PRIMARY" and primary_dns in inv.health_checks:
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


def _alarms(cfg: Config, client: ClientFactory, roles: dict[str, str], inv: Inventory) -> None:
    for role, region in roles.items():
        topic = client("sns", region).create_topic(Name="infra-alerts")["TopicArn"]
        inv.topic_arns[role] = topic
        cw = client("cloudwatch", region)
        for alarm in cfg.monitoring.alarms:
            cw.put_metric_alarm(AlarmName=alarm.name, Namespace=alarm.namespace, MetricName=alarm.metric,
                                Statistic="Average", Period=alarm.period_s, EvaluationPeriods=1,
                                Threshold=alarm.threshold, ComparisonOperator="GreaterThanThreshold",
                                AlarmActions=[topic], AlarmDescription=alarm.severity)
