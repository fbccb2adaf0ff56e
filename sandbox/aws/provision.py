"""Provision a policy's two-region topology with ordinary boto3 calls.

Nothing here is moto-specific: the same calls seed a LocalStack or describe what an account
should hold. ``posture="policy"`` builds the setup the policy describes once its known gaps are
fixed; ``posture="as-is"`` leaves out exactly the gaps listed in ``known_gaps`` (section 7), so
an audit has something true to find. The edge (identity, functions, CloudFront, DNS, alarms)
is in ``provision_edge``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drill.core.schema import ROLES, Config

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client


@dataclass
class Inventory:
    """What the provisioner made that other parts need (ids the API generated)."""

    account_id: str = ""
    zone_id: str = ""
    albs: dict[str, dict[str, str]] = field(default_factory=dict)  # alb name -> role -> DNS name
    alb_zone_ids: dict[str, str] = field(default_factory=dict)  # DNS name -> canonical zone id
    alb_subnets: dict[str, list[str]] = field(default_factory=dict)  # DNS name -> its subnets
    db_subnets: dict[str, list[str]] = field(default_factory=dict)  # role -> the DB subnet group's subnets
    private_subnets: dict[str, list[str]] = field(default_factory=dict)  # role -> the nodes' subnets
    health_checks: dict[str, str] = field(default_factory=dict)  # primary ALB DNS -> health check id
    distribution_id: str = ""
    distribution_domain: str = ""
    pools: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> {pool_id, client_id}
    secret_values: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)  # repository -> image digest
    skipped: list[str] = field(default_factory=list)  # gap keys left out (posture as-is)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data.pop("secret_values")
        return data


def alb_dr_name(name: str) -> str:
    """The DR load balancer's name (the twin's choice; the engine finds it through the account)."""
    return (name[:29] + "-dr") if len(name) > 29 else name + "-dr"


@dataclass
class Secrets:
    """The twin's own credentials, which its AWS stores as an account would."""

    admin_user: str
    admin_password: str
    app_user: str
    app_password: str
    slack_webhook: str


def provision(cfg: Config, client: ClientFactory, secrets: Secrets, posture: str = "policy",
              policy_interval_s: float | None = None, policy_alarm_period_s: int | None = None) -> Inventory:
    from sandbox.aws.provision_edge import alarms, cloudfront, cognito, functions, route53

    gaps: set[str] = {str(g.key) for g in cfg.known_gaps} if posture == "as-is" else set()
    inv = Inventory(skipped=sorted(gaps))
    roles: dict[str, str] = {r: cfg.side(r).region for r in ROLES}
    inv.account_id = client("sts", roles["primary"]).get_caller_identity()["Account"]
    subnets = _network(cfg, client, roles)
    inv.private_subnets = {role: list(subnets[role]["private"]) for role in roles}
    _iam(cfg, client)
    _kms_acm(cfg, client, roles)
    _eks(cfg, client, roles, subnets, inv)
    _albs(cfg, client, roles, subnets, inv)
    _rds(cfg, client, roles, secrets, subnets, inv)
    _dynamodb(cfg, client, roles, gaps)
    _s3(cfg, client, roles, inv)
    _ecr(cfg, client, roles, gaps, inv)
    _secrets(cfg, client, roles, secrets, inv)
    functions(cfg, client, roles, inv, secrets)
    cognito(cfg, client, roles, inv)
    cloudfront(cfg, client, roles, gaps, inv)
    route53(cfg, client, roles, gaps, inv, policy_interval_s)
    alarms(cfg, client, roles, inv, policy_alarm_period_s)
    return inv


def tags(name: str) -> list[dict[str, str]]:
    return [{"Key": "Name", "Value": name}, {"Key": "drill:managed", "Value": "twin"}]


def bucket_location(region: str) -> dict[str, Any]:
    """CreateBucket's location: us-east-1 takes none (and refuses its own name)."""
    return {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}


def _network(cfg: Config, client: ClientFactory, roles: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for role, region in roles.items():
        side = cfg.side(role)
        azs = (cfg.regions.primary if role == "primary" else cfg.regions.dr).azs or [region + "a"]
        ec2 = client("ec2", region)
        vpc = ec2.create_vpc(CidrBlock=side.vpc.cidr, TagSpecifications=[
            {"ResourceType": "vpc", "Tags": tags(side.vpc.vpc)}])["Vpc"]["VpcId"]
        ec2.create_internet_gateway(TagSpecifications=[
            {"ResourceType": "internet-gateway", "Tags": tags(side.vpc.vpc + "-igw")}])
        kinds: dict[str, list[str]] = {"vpc": [vpc]}
        for kind, cidrs in (("public", side.vpc.public_subnets), ("private", side.vpc.private_subnets),
                            ("db", side.vpc.db_subnets)):
            kinds[kind] = [ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=azs[i % len(azs)],
                                             TagSpecifications=[{"ResourceType": "subnet", "Tags": tags(
                                                 f"{side.vpc.vpc}-{kind}-{i + 1}")}])["Subnet"]["SubnetId"]
                           for i, cidr in enumerate(cidrs)]
        kinds["sg"] = [ec2.create_security_group(GroupName=f"{side.vpc.vpc}-db", Description="database",
                                                 VpcId=vpc)["GroupId"]]
        out[role] = kinds
    return out


def _iam(cfg: Config, client: ClientFactory) -> None:
    iam = client("iam", cfg.regions.primary.name)

    def trust(service: str) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})

    for role in cfg.iam.roles:
        for name in (role, role + "-dr"):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust("eks.amazonaws.com"))
    for name, service in ((cfg.s3.replication_role, "s3.amazonaws.com"), (cfg.s3.failback_role, "s3.amazonaws.com"),
                          (cfg.aws.fis_role, "fis.amazonaws.com"), ("drill-lambda-exec", "lambda.amazonaws.com")):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service))


def _kms_acm(cfg: Config, client: ClientFactory, roles: dict[str, str]) -> None:
    for region in roles.values():
        kms = client("kms", region)
        for alias in cfg.kms.aliases:
            key = kms.create_key(Description=f"{alias} ({region})")["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=alias, TargetKeyId=key)
        if cfg.acm.get("domain"):
            client("acm", region).request_certificate(DomainName=cfg.acm["domain"], ValidationMethod="DNS")


def _eks(cfg: Config, client: ClientFactory, roles: dict[str, str], subnets: dict[str, dict[str, list[str]]],
         inv: Inventory) -> None:
    for role, region in roles.items():
        cl = cfg.side(role).cluster
        eks = client("eks", region)
        suffix = "-dr" if role == "dr" else ""
        eks.create_cluster(name=cl.cluster, version=cl.version,
                           roleArn=f"arn:aws:iam::{inv.account_id}:role/eks-cluster-role{suffix}",
                           resourcesVpcConfig={"subnetIds": subnets[role]["private"]})
        eks.create_nodegroup(clusterName=cl.cluster, nodegroupName=cl.node_group,
                             scalingConfig={"minSize": cl.min_nodes, "maxSize": cl.max_nodes, "desiredSize": cl.nodes},
                             subnets=subnets[role]["private"], instanceTypes=[cl.instance_type],
                             nodeRole=f"arn:aws:iam::{inv.account_id}:role/eks-node-role{suffix}")


def _albs(cfg: Config, client: ClientFactory, roles: dict[str, str], subnets: dict[str, dict[str, list[str]]],
          inv: Inventory) -> None:
    for alb in cfg.albs:
        inv.albs[alb.name] = {}
        for role, region in roles.items():
            name = alb.name if role == "primary" else alb_dr_name(alb.name)
            lb = client("elbv2", region).create_load_balancer(
                Name=name, Subnets=subnets[role]["public"], Scheme="internet-facing",
                Type="application")["LoadBalancers"][0]
            inv.albs[alb.name][role] = lb["DNSName"]
            inv.alb_zone_ids[lb["DNSName"]] = lb["CanonicalHostedZoneId"]
            inv.alb_subnets[lb["DNSName"]] = list(subnets[role]["public"])


def _rds(cfg: Config, client: ClientFactory, roles: dict[str, str], secrets: Secrets,
         subnets: dict[str, dict[str, list[str]]], inv: Inventory) -> None:
    rds = {role: client("rds", region) for role, region in roles.items()}
    keys = {}
    for role, region in roles.items():
        inst = cfg.side(role).db
        rds[role].create_db_subnet_group(DBSubnetGroupName=inst.subnet_group, DBSubnetGroupDescription=inst.subnet_group,
                                         SubnetIds=subnets[role]["db"])
        rds[role].create_db_parameter_group(DBParameterGroupName=f"{inst.id}-params", DBParameterGroupFamily="mysql8.4",
                                            Description="database parameters")
        keys[role] = client("kms", region).create_key(Description=f"rds {inst.id}")["KeyMetadata"]["Arn"]
        inv.db_subnets[role] = list(subnets[role]["db"])
    p = cfg.rds.primary
    primary = rds["primary"].create_db_instance(
        DBInstanceIdentifier=p.id, Engine=cfg.rds.engine, EngineVersion=cfg.rds.engine_version,
        DBInstanceClass=cfg.rds.instance_class, MasterUsername=secrets.admin_user,
        MasterUserPassword=secrets.admin_password, AllocatedStorage=20, Port=cfg.rds.port, MultiAZ=p.multi_az,
        BackupRetentionPeriod=cfg.rds.backup_retention_days, PreferredBackupWindow=p.backup_window or "18:45-19:15",
        DBSubnetGroupName=p.subnet_group, DBName=cfg.rds.database, VpcSecurityGroupIds=subnets["primary"]["sg"],
        DBParameterGroupName=f"{p.id}-params", StorageEncrypted=True, KmsKeyId=keys["primary"])["DBInstance"]
    r = cfg.rds.replica
    rds["dr"].create_db_instance_read_replica(
        DBInstanceIdentifier=r.id, SourceDBInstanceIdentifier=primary["DBInstanceArn"],
        DBInstanceClass=cfg.rds.instance_class, MultiAZ=r.multi_az, DBSubnetGroupName=r.subnet_group,
        SourceRegion=roles["primary"], VpcSecurityGroupIds=subnets["dr"]["sg"],
        DBParameterGroupName=f"{r.id}-params", KmsKeyId=keys["dr"])


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
        ddb.update_table(TableName=table.name, StreamSpecification={"StreamEnabled": True,
                                                                    "StreamViewType": "NEW_AND_OLD_IMAGES"})
        ddb.update_table(TableName=table.name, ReplicaUpdates=[{"Create": {"RegionName": roles["dr"]}}])


def _s3(cfg: Config, client: ClientFactory, roles: dict[str, str], inv: Inventory) -> None:
    s3 = {role: client("s3", region) for role, region in roles.items()}
    for pair in cfg.s3.buckets:
        for role, name in (("primary", pair.name), ("dr", pair.dr)):
            s3[role].create_bucket(Bucket=name, **bucket_location(roles[role]))
            s3[role].put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3["primary"].put_bucket_replication(Bucket=pair.name, ReplicationConfiguration={
            "Role": f"arn:aws:iam::{inv.account_id}:role/{cfg.s3.replication_role}",
            "Rules": [{"ID": f"crr-{pair.name}", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
                       "DeleteMarkerReplication": {"Status": "Enabled"},
                       "Destination": {"Bucket": f"arn:aws:s3:::{pair.dr}"}}]})
    s3["primary"].put_object(Bucket=cfg.cloudfront.origin_bucket, Key="index.html", ContentType="text/html",
                             Body=f"<html><body>{cfg.policy.name}</body></html>".encode())


def _ecr(cfg: Config, client: ClientFactory, roles: dict[str, str], gaps: set[str], inv: Inventory) -> None:
    ecr = client("ecr", roles["primary"])
    if "ecr_replication" not in gaps:
        ecr.put_replication_configuration(replicationConfiguration={"rules": [{
            "destinations": [{"region": roles["dr"], "registryId": inv.account_id}]}]})
    for repo in cfg.ecr.repositories:
        ecr.create_repository(repositoryName=repo)
        layer = hashlib.sha256(repo.encode()).hexdigest()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                          "size": 100, "digest": f"sha256:{layer}"},
                               "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                           "size": 1000, "digest": f"sha256:{layer[::-1]}"}]})
        image = ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="release")["image"]
        inv.images[repo] = image["imageId"]["imageDigest"]


def _secrets(cfg: Config, client: ClientFactory, roles: dict[str, str], secrets: Secrets, inv: Inventory) -> None:
    sm = client("secretsmanager", roles["primary"])
    logins = {cfg.rds.login_secret: {"username": secrets.app_user, "password": secrets.app_password},
              cfg.rds.admin_secret: {"username": secrets.admin_user, "password": secrets.admin_password}}
    names = [s.name for s in cfg.secrets] + [n for n in logins if n not in {s.name for s in cfg.secrets}]
    for name in names:
        if name in logins:
            value = json.dumps(logins[name])
        else:
            value = json.dumps({"value": "sbx-" + os.urandom(12).hex()})  # real-looking: must never leak
        inv.secret_values[name] = value
        sm.create_secret(Name=name, SecretString=value, AddReplicaRegions=[{"Region": roles["dr"]}])
