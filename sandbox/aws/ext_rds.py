"""RDS as an account shows it, over the twin's MariaDB pair.

- Every instance's endpoint is its region's database address (the network path in front of that
  region's server), whatever the instance is called.
- PromoteReadReplica promotes the server (``rds_promote``, in the call: a failure fails it), the
  instance loses its source and leaves the source's replica list, and its status goes
  ``modifying`` and back to ``available``, as RDS does (a waiter that does not wait for the
  change would return before the promotion finished on an account).
- CreateDBInstanceReadReplica builds the replica on the data plane (``rds_create_replica``, in the
  background while the status is ``creating``), in the replica's own region's subnet group.
- DeleteDBInstance keeps moto's final snapshot and tells the twin (``rds_delete``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.rds.models import DBInstance, RDSBackend

from sandbox.events import EVENTS

_endpoints: dict[str, tuple[str, int]] = {}  # region -> (address, port) of its database
TRANSITION_S = [1.0]  # how long a status change lasts (sandbox.timing)


def set_region_endpoint(region: str, host: str, port: int) -> None:
    _endpoints[region] = (host, port)


def _later(db: DBInstance, status: str, delay_s: float, work: Any = None) -> None:
    def run() -> None:
        try:
            if work is not None:
                work()
            time.sleep(delay_s)
            db.status = status
        except Exception as exc:
            db.status = "incompatible-parameters"
            EVENTS.rds_promote.errors.append(f"{db.db_instance_identifier}: {exc}"[:300])

    threading.Thread(target=run, name=f"rds-{db.db_instance_identifier}", daemon=True).start()


def install() -> None:
    original_address = DBInstance.address

    def address(self: DBInstance) -> str:
        hit = _endpoints.get(self.region)
        return hit[0] if hit else original_address.fget(self)  # type: ignore[attr-defined]

    DBInstance.address = property(address)  # type: ignore[assignment,method-assign]

    original_init = DBInstance.__init__

    def db_init(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        hit = _endpoints.get(self.region)
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
            EVENTS.rds_promote.fire(reraise=True, region=self.region_name, db_id=db_id)
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
        if was_replica:
            result.status = "modifying"
            _later(result, "available", TRANSITION_S[0])
        return result

    RDSBackend.promote_read_replica = promote  # type: ignore[method-assign]

    original_replica = RDSBackend.create_db_instance_read_replica

    def create_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
        db_id = db_kwargs["db_instance_identifier"]
        source = db_kwargs["source_db_instance_identifier"]
        # moto resolves the subnet group in the source's region; do it in the replica's own
        subnet_group = db_kwargs.pop("db_subnet_group_name", None)
        replica = original_replica(self, db_kwargs)
        replica.backend = self
        if subnet_group:
            replica.db_subnet_group_name = subnet_group
        replica.source_db_instance_identifier = source
        hit = _endpoints.get(self.region_name)
        if hit:
            replica.port = hit[1]
        replica.status = "creating"
        region = self.region_name
        _later(replica, "available", TRANSITION_S[0],
               lambda: EVENTS.rds_create_replica.fire(reraise=True, region=region, db_id=db_id, source=source))
        return replica

    RDSBackend.create_db_instance_read_replica = create_replica  # type: ignore[method-assign]

    original_delete = RDSBackend.delete_db_instance

    def delete(self: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any) -> DBInstance:
        result = original_delete(self, db_instance_identifier, *args, **kwargs)
        EVENTS.rds_delete.fire(region=self.region_name, db_id=db_instance_identifier)
        return result

    RDSBackend.delete_db_instance = delete  # type: ignore[method-assign]
