"""The twin's hooks, in the style of locust's ``EventHook``: named events that parts listen to.

The AWS emulator's extensions fire them (an object stored, a stream record written, a replica
promoted, a network ACL changed, a message for a Lambda ...) and the parts of the twin that
supply behaviour listen (replication workers, the RDS data plane, the network, the Lambda
stand-ins). One failing listener does not stop the others; its error is kept for the status.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class EventHook:
    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[..., Any]] = []
        self._lock = threading.Lock()
        self.errors: list[str] = []

    def add_listener(self, listener: Callable[..., Any]) -> Callable[..., Any]:
        with self._lock:
            self._listeners.append(listener)
        return listener

    def remove_listener(self, listener: Callable[..., Any]) -> None:
        with self._lock:
            self._listeners.remove(listener)

    def fire(self, *, reraise: bool = False, **kwargs: Any) -> list[Any]:
        """Call every listener; with ``reraise`` the first error propagates (a hook that must
        fail the API call it runs in, as a failed promotion must)."""
        out = []
        for listener in list(self._listeners):
            try:
                out.append(listener(**kwargs))
            except Exception as exc:
                if reraise:
                    raise
                self.errors.append(f"{self.name}: {type(exc).__name__}: {exc}"[:300])
                del self.errors[:-20]
        return out

    def __bool__(self) -> bool:
        return bool(self._listeners)


class Events:
    """Every hook of the twin. One instance per supervisor process (``EVENTS``)."""

    def __init__(self) -> None:
        self.s3_put = EventHook("s3_put")  # bucket, key, body, metadata, region
        self.stream_record = EventHook("stream_record")  # region, table, record
        self.ecr_image = EventHook("ecr_image")  # region, repository, tag, manifest
        self.rds_promote = EventHook("rds_promote")  # region, db_id
        self.rds_create_replica = EventHook("rds_create_replica")  # region, db_id, source
        self.rds_delete = EventHook("rds_delete")  # region, db_id
        self.network_changed = EventHook("network_changed")  # region
        self.lambda_invoke = EventHook("lambda_invoke")  # function_arn, event -> result or raise
        self.sns_delivered = EventHook("sns_delivered")  # topic_arn, protocol, ok
        self.cognito_confirmed = EventHook("cognito_confirmed")  # region, pool_id, username

    def all(self) -> dict[str, EventHook]:
        return {k: v for k, v in vars(self).items() if isinstance(v, EventHook)}


EVENTS = Events()
