"""Route 53, DynamoDB, S3 and ECR as an account shows them, where moto stores but does not act.

- Route 53 GetHealthCheckStatus reports what the twin's health checker observed (no observation
  yet is a failure, not a success).
- DynamoDB UpdateTable ReplicaUpdates (global tables version 2019.11.21) creates the replica table
  in the other region (streams required, as AWS requires) and DescribeTable lists the Replicas;
  every stream record fires ``stream_record`` (what the global-tables service consumes). A shard
  keeps its last ``STREAM_KEEP`` records (AWS keeps 24 hours; moto kept every record for good, so
  the twin's memory grew with every write of a long drill); reading a trimmed position is AWS's
  TrimmedDataAccessException.
- S3: every stored object fires ``s3_put`` (what CRR reacts to), with its metadata.
  ListObjectVersions looks only at the keys under the prefix and answers with light views of
  their versions; moto deep-copied every version of every key in the bucket on each call (a copy
  only carries IsLatest), each copy reading the object's body into a new temporary file: the
  drill's canary cleanup, a page of 1,000 at a time, stepped the twin up by tens of MB.
- ECR: every image put fires ``ecr_image`` (what registry replication reacts to).
- CloudFront: a cache behaviour may target an origin group (moto accepts only origins).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.responses import DynamoHandler
from moto.ecr.models import ECRBackend
from moto.route53.responses import Route53
from moto.s3.models import FakeDeleteMarker, FakeKey, S3Backend

from sandbox.events import EVENTS

STREAM_KEEP = 1000  # records a stream shard keeps (after the replicator has been handed them)

_health: list[Callable[[str], tuple[bool, str, str]]] = []


def set_health_status_provider(provider: Callable[[str], tuple[bool, str, str]]) -> None:
    """provider(health_check_id) -> (healthy, status text, checked-at ISO time)."""
    _health[:] = [provider]


def install() -> None:
    original_status = Route53.get_health_check_status

    def health_status(self: Route53) -> Any:
        result = original_status(self)
        if not _health:
            return result
        healthy, text, checked = _health[0](self._get_param("HealthCheckId"))
        obs = result.result["HealthCheckObservations"][0]  # type: ignore[index]
        obs["StatusReport"]["Status"] = text if healthy else (text if text.startswith("Failure") else f"Failure: {text}")
        obs["StatusReport"]["CheckedTime"] = checked
        return result

    Route53.get_health_check_status = health_status  # type: ignore[method-assign]

    original_put = S3Backend.put_object

    def put_object(self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        key = original_put(self, bucket_name, key_name, *args, **kwargs)
        if EVENTS.s3_put:
            EVENTS.s3_put.fire(bucket=bucket_name, key=key_name, body=key.value,
                               meta=dict(getattr(key, "metadata", {}) or {}),
                               content_type=getattr(key, "content_type", None))
        return key

    S3Backend.put_object = put_object  # type: ignore[method-assign]
    _narrow_version_listing()

    original_add = StreamShard.add
    shard_lock = threading.Lock()  # the emulator serves requests on many threads

    def shard_add(self: StreamShard, old: Any, new: Any) -> None:
        # the record this write added, read under the same lock as the add: another thread's
        # write between the two would otherwise be fired twice and this one never (lost to replication)
        # (fired under it too, so the replication queue keeps the stream's order)
        with shard_lock:
            before = len(self.items)
            original_add(self, old, new)
            if EVENTS.stream_record and len(self.items) > before:
                EVENTS.stream_record.fire(region=self.table.region_name, table=self.table.name,
                                          record=self.items[-1].record)
            extra = len(self.items) - STREAM_KEEP
            if extra > 0:  # sequence numbers stay those already given: the shard's range starts later
                del self.items[:extra]
                self.starting_sequence_number += extra

    StreamShard.add = shard_add  # type: ignore[method-assign]

    original_get = StreamShard.get

    def shard_get(self: StreamShard, start: int, quantity: int) -> list[dict[str, Any]]:
        with shard_lock:
            if start < self.starting_sequence_number:
                from moto.core.exceptions import JsonRESTError

                raise JsonRESTError("TrimmedDataAccessException",
                                    f"sequence number {start} is beyond the shard's trim horizon")
            return original_get(self, start, quantity)

    StreamShard.get = shard_get  # type: ignore[method-assign]

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
                    gone = upd["Delete"]["RegionName"]
                    for t in _tables(self.current_account, name, _replicas(table)):
                        t.drill_replicas = [r for r in _replicas(t) if r != gone]  # type: ignore[attr-defined]
            rest = {k: v for k, v in self.body.items() if k not in ("ReplicaUpdates", "TableName")}
            if not rest:
                from moto.dynamodb.responses import DynamoResult

                return DynamoResult(table.describe())
        return original_update(self)

    DynamoHandler.update_table = update_table  # type: ignore[method-assign]

    original_describe = Table.describe

    def describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
        out = original_describe(self, base_key)
        regions = _replicas(self)
        if len(regions) > 1:
            out[base_key]["Replicas"] = [{"RegionName": r, "ReplicaStatus": "ACTIVE"}
                                         for r in regions if r != self.region_name]
            out[base_key]["GlobalTableVersion"] = "2019.11.21"
        return out

    Table.describe = describe  # type: ignore[method-assign]

    original_image = ECRBackend.put_image

    def put_image(self: ECRBackend, repository_name: str, image_manifest: str, image_tag: str,
                  image_manifest_mediatype: str | None = None, digest: str | None = None) -> Any:
        image = original_image(self, repository_name, image_manifest, image_tag, image_manifest_mediatype, digest)
        EVENTS.ecr_image.fire(region=self.region_name, repository=repository_name, tag=image_tag,
                              manifest=image_manifest, media_type=image_manifest_mediatype)
        return image

    ECRBackend.put_image = put_image  # type: ignore[method-assign]

    from moto.cloudfront.models import DistributionConfig

    original_config = DistributionConfig.__init__

    def distribution_config(self: DistributionConfig, config: dict[str, Any]) -> None:
        behaviour = config.get("DefaultCacheBehavior") or {}
        target = behaviour.get("TargetOriginId")
        group = next((g for g in (config.get("OriginGroups") or {}).get("Items") or [] if g.get("Id") == target), None)
        if group is not None:  # validate against its first member, then keep the group as the target
            behaviour["TargetOriginId"] = group["Members"]["Items"][0]["OriginId"]
        original_config(self, config)
        if group is not None:
            # moto sets the config's keys as attributes (__dict__.update): its class does not declare them
            self.DefaultCacheBehavior.target_origin_id = target  # type: ignore[attr-defined]

    DistributionConfig.__init__ = distribution_config  # type: ignore[method-assign]


def _replicas(table: Table) -> list[str]:
    return list(getattr(table, "drill_replicas", []))


def _tables(account: str, name: str, regions: list[str]) -> list[Table]:
    return [dynamodb_backends[account][r].tables[name] for r in regions if name in dynamodb_backends[account][r].tables]


def _create_replica_table(table: Table, account_id: str, region: str) -> None:
    if not table.stream_specification or not table.stream_specification.get("StreamEnabled"):
        from moto.dynamodb.exceptions import MockValidationException

        raise MockValidationException("Table must have streams enabled with NEW_AND_OLD_IMAGES to add a replica")
    backend = dynamodb_backends[account_id][region]
    if table.name not in backend.tables:
        backend.create_table(table.name, schema=table.schema, throughput=table.throughput, attr=table.attr,
                             global_indexes=None, indexes=None, streams=dict(table.stream_specification),
                             billing_mode=table.billing_mode or "PAY_PER_REQUEST", sse_specification=None,
                             tags=[], deletion_protection_enabled=None, warm_throughput=None)
    regions = sorted(set(_replicas(table)) | {table.region_name, region})
    for t in _tables(account_id, table.name, regions):
        t.drill_replicas = regions  # type: ignore[attr-defined]


class _KeyView(FakeKey):
    """A version as ListObjectVersions answers with it: the object's attributes, not its body (the
    view owns no buffer and closes nothing when freed); moto's deep copy of it is itself."""

    def __init__(self, key: FakeKey) -> None:  # FakeKey's own __init__ is not run
        try:
            key.etag  # noqa: B018  (computed, and kept, on the object itself)
        except ValueError:  # deleted while being listed (its buffer closed): listed without one
            key._etag = key._etag or ""
        self.__dict__.update(key.__dict__, _value_buffer=None, multipart=None, disposed=True)

    def __deepcopy__(self, memo: dict[int, Any]) -> _KeyView:
        return self

    def __del__(self) -> None:
        pass


class _MarkerView(FakeDeleteMarker):
    def __init__(self, marker: FakeDeleteMarker) -> None:
        self.__dict__.update(marker.__dict__)

    def __deepcopy__(self, memo: dict[int, Any]) -> _MarkerView:
        return self


def _narrowed(bucket: Any, prefix: str, key_marker: str | None) -> Any:
    """What moto's ListObjectVersions reads of a backend and its bucket (``get_bucket(name).keys
    .iterlists()``), holding only the names under the prefix and not before the key marker (moto
    skips those anyway), as views. No reference cycle: the views are freed as soon as the answer
    is, not by the collector's rare full pass (a view kept by a cycle outlived the page by minutes)."""
    lists = [(name, [_KeyView(v) if isinstance(v, FakeKey) else
                     _MarkerView(v) if isinstance(v, FakeDeleteMarker) else v for v in versions])
             for name, versions in list(bucket.keys.iterlists())
             if name.startswith(prefix) and not (key_marker and name < key_marker)]
    view = SimpleNamespace(keys=SimpleNamespace(iterlists=lambda: iter(lists)))
    return SimpleNamespace(get_bucket=lambda name: view)


def _narrow_version_listing() -> None:
    original = S3Backend.list_object_versions

    def list_object_versions(self: S3Backend, bucket_name: str, delimiter: str | None = None,
                             key_marker: str | None = None, max_keys: int | None = 1000, prefix: str = "",
                             version_id_marker: str | None = None) -> Any:
        if key_marker is not None and not key_marker.startswith(prefix or ""):
            # moto skips the first version at or after such a marker; narrowed, that would be
            # the prefix's first: the bucket as it is (no caller of the twin's passes one)
            return original(self, bucket_name, delimiter=delimiter, key_marker=key_marker, max_keys=max_keys,
                            prefix=prefix, version_id_marker=version_id_marker)
        narrowed = _narrowed(self.get_bucket(bucket_name), prefix or "", key_marker)
        return original(narrowed, bucket_name, delimiter=delimiter, key_marker=key_marker,  # type: ignore[arg-type]
                        max_keys=max_keys, prefix=prefix, version_id_marker=version_id_marker)

    S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]
