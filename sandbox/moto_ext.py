"""What moto stores but does not do, added in-process so every client sees one truth.

moto runs inside the sandbox supervisor, so these extensions hold for any client that talks
to the emulator (boto3, the AWS CLI, the drill engine):

- RDS: an instance can point at a real server (its Endpoint is the MariaDB address); a
  promoted replica loses its source id, leaves its source's replica list, and the data-plane
  server is promoted in the same call; a new read replica is built on the data plane.
- Route 53: GetHealthCheckStatus reports what the sandbox health checker observed.
- DynamoDB: UpdateTable ReplicaUpdates (global tables version 2019.11.21) creates the replica
  table in the other region and DescribeTable lists Replicas; the sandbox's stream worker
  does the replication.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.rds.models import DBInstance, RDSBackend
from moto.route53.responses import Route53

_lock = threading.Lock()
_endpoints: dict[tuple[str, str], tuple[str, int]] = {}
_promote_hooks: list[Callable[[str, str], None]] = []
_replica_hooks: list[Callable[[str, str, str], None]] = []
_health_status: Callable[[str], tuple[bool, str, str]] | None = None
_s3_put_hooks: list[Callable[[str, str, bytes, dict[str, str]], None]] = []
_stream_hooks: list[Callable[[str, str, dict[str, Any]], None]] = []
_installed = False


def on_s3_put(hook: Callable[[str, str, bytes, dict[str, str]], None]) -> None:
    """hook(bucket, key, body, metadata) runs after every stored object (what S3 CRR reacts to)."""
    _s3_put_hooks.append(hook)


def on_stream_record(hook: Callable[[str, str, dict[str, Any]], None]) -> None:
    """hook(region, table, record) runs for every DynamoDB stream record as it is written."""
    _stream_hooks.append(hook)


def set_endpoint(region: str, db_id: str, host: str, port: int) -> None:
    with _lock:
        _endpoints[(region, db_id)] = (host, port)


def on_promote(hook: Callable[[str, str], None]) -> None:
    """hook(region, db_instance_id) runs inside PromoteReadReplica; an exception fails the call."""
    _promote_hooks.append(hook)


def on_create_replica(hook: Callable[[str, str, str], None]) -> None:
    """hook(region, db_instance_id, source_id) runs inside CreateDBInstanceReadReplica."""
    _replica_hooks.append(hook)


def set_health_status_provider(provider: Callable[[str], tuple[bool, str, str]]) -> None:
    """provider(health_check_id) -> (healthy, status text, checked-at ISO time)."""
    global _health_status
    _health_status = provider


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    # moto's server lists its package folder on disk for every request it routes; the list
    # never changes while the process runs
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]

    original_address = DBInstance.address

    def address(self: DBInstance) -> str:
        hit = _endpoints.get((self.region, self.db_instance_identifier))
        return hit[0] if hit else original_address.fget(self)  # type: ignore[attr-defined]

    DBInstance.address = property(address)  # type: ignore[assignment,method-assign]

    original_create = DBInstance.__init__

    def db_init(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        original_create(self, *args, **kwargs)
        hit = _endpoints.get((self.region, self.db_instance_identifier))
        if hit:
            self.port = hit[1]

    DBInstance.__init__ = db_init  # type: ignore[method-assign]

    original_promote = RDSBackend.promote_read_replica

    def promote(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
        db_id = db_kwargs["db_instance_identifier"]
        database = self.databases.get(db_id)
        was_replica = bool(database is not None and database.is_replica)
        source = database.source_db_instance_identifier if database is not None else None
        if was_replica:
            for hook in _promote_hooks:
                hook(self.region_name, db_id)
        result = original_promote(self, db_kwargs)
        if was_replica and source:
            try:
                primary = self.find_db_from_id(source)
                for ref in (result.db_instance_arn, result.db_instance_identifier):
                    if ref in primary.replicas:
                        primary.replicas.remove(ref)
            except Exception:  # the source may be gone (a real outage); promotion stands
                pass
            result.source_db_instance_identifier = None
        return result

    RDSBackend.promote_read_replica = promote  # type: ignore[method-assign]

    original_replica = RDSBackend.create_db_instance_read_replica

    def create_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
        db_id = db_kwargs["db_instance_identifier"]
        source = db_kwargs["source_db_instance_identifier"]
        for hook in _replica_hooks:
            hook(self.region_name, db_id, source)
        # moto resolves the subnet group in the source's region; do it in the replica's own
        subnet_group = db_kwargs.pop("db_subnet_group_name", None)
        replica = original_replica(self, db_kwargs)
        replica.backend = self
        if subnet_group:
            replica.db_subnet_group_name = subnet_group
        replica.source_db_instance_identifier = source
        hit = _endpoints.get((self.region_name, db_id))
        if hit:
            replica.port = hit[1]
        return replica

    RDSBackend.create_db_instance_read_replica = create_replica  # type: ignore[method-assign]

    original_status = Route53.get_health_check_status

    def health_status(self: Route53) -> Any:
        result = original_status(self)
        if _health_status is None:
            return result
        hc_id = self._get_param("HealthCheckId")
        healthy, text, checked = _health_status(hc_id)
        obs = result.result["HealthCheckObservations"][0]  # type: ignore[index]
        obs["StatusReport"]["Status"] = text if healthy else f"Failure: {text}"
        obs["StatusReport"]["CheckedTime"] = checked
        obs["IPAddress"] = "127.0.0.1"
        return result

    Route53.get_health_check_status = health_status  # type: ignore[method-assign]

    from moto.s3.models import S3Backend

    original_put = S3Backend.put_object

    def put_object(self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        key = original_put(self, bucket_name, key_name, *args, **kwargs)
        if _s3_put_hooks:
            meta = dict(getattr(key, "metadata", {}) or {})
            for hook in _s3_put_hooks:
                hook(bucket_name, key_name, key.value, meta)
        return key

    S3Backend.put_object = put_object  # type: ignore[method-assign]

    from moto.dynamodb.models.table import StreamShard

    original_add = StreamShard.add

    def shard_add(self: StreamShard, old: Any, new: Any) -> None:
        original_add(self, old, new)
        if _stream_hooks and self.items:
            record = self.items[-1].record
            for hook in _stream_hooks:
                hook(self.table.region_name, self.table.name, record)

    StreamShard.add = shard_add  # type: ignore[method-assign]

    original_update = DynamoHandler.update_table

    def update_table(self: DynamoHandler) -> Any:
        updates = self.body.get("ReplicaUpdates") or []
        name = self.body["TableName"]
        if updates:
            table = self.dynamodb_backend.get_table(name)
            for upd in updates:
                if "Create" in upd:
                    _create_replica_table(table, self.current_account, upd["Create"]["RegionName"])
                elif "Delete" in upd:
                    table.drill_replicas = [r for r in _replicas(table) if r != upd["Delete"]["RegionName"]]  # type: ignore[attr-defined]
            rest = {k: v for k, v in self.body.items() if k not in ("ReplicaUpdates", "TableName")}
            if not rest:
                return DynamoHandler_describe(self, name)
        return original_update(self)

    DynamoHandler.update_table = update_table  # type: ignore[method-assign]

    original_describe = Table.describe

    def describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
        out = original_describe(self, base_key)
        regions = _replicas(self)
        if regions:
            out[base_key]["Replicas"] = [
                {"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in regions if r != self.region_name
            ]
            out[base_key]["GlobalTableVersion"] = "2019.11.21"
        return out

    Table.describe = describe  # type: ignore[method-assign]


def _replicas(table: Table) -> list[str]:
    return list(getattr(table, "drill_replicas", []))


def DynamoHandler_describe(handler: DynamoHandler, name: str) -> Any:  # noqa: N802
    from moto.dynamodb.responses import DynamoResult

    return DynamoResult(handler.dynamodb_backend.get_table(name).describe())


def _create_replica_table(table: Table, account_id: str, region: str) -> None:
    if not table.stream_specification or not table.stream_specification.get("StreamEnabled"):
        from moto.dynamodb.exceptions import MockValidationException

        raise MockValidationException(
            "Table must have streams enabled with NEW_AND_OLD_IMAGES to add a replica"
        )
    backend = dynamodb_backends[account_id][region]
    if table.name not in backend.tables:
        backend.create_table(
            table.name,
            schema=table.schema,
            throughput=table.throughput,
            attr=table.attr,
            global_indexes=None,
            indexes=None,
            streams=dict(table.stream_specification),
            billing_mode=table.billing_mode or "PAY_PER_REQUEST",
            sse_specification=None,
            tags=[],
            deletion_protection_enabled=None,
            warm_throughput=None,
        )
    other = backend.tables[table.name]
    regions = sorted(set(_replicas(table)) | {table.region_name, region})
    table.drill_replicas = regions  # type: ignore[attr-defined]
    other.drill_replicas = regions  # type: ignore[attr-defined]
