"""The twin's S3 replication copies with a pool whose threads all run from the start: a pool that
starts them as work first overlaps stepped the twin's thread count up late in a drill, at a burst
of copies (bench/soak.py read it as growth)."""

from __future__ import annotations

import threading

from sandbox.replication.s3 import S3Replicator, started_pool


def _crr_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("crr-test"))


def test_every_thread_runs_before_any_work_and_no_more_after_a_burst() -> None:
    pool = started_pool(8, "crr-test")
    try:
        assert _crr_threads() == 8
        assert list(pool.map(lambda x: x * 2, range(100))) == [x * 2 for x in range(100)]
        assert _crr_threads() == 8
    finally:
        pool.shutdown(wait=True)
    assert _crr_threads() == 0


def test_the_replicator_copies_with_such_a_pool() -> None:
    repl = S3Replicator(lambda service, region: None, {}, 0.0, 1.0)
    try:
        assert sum(1 for t in threading.enumerate() if t.name.startswith("crr_")) == 8
    finally:
        repl.stop()
