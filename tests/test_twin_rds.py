"""The twin's RDS rebuilds a replica the way RDS does, from a consistent copy at the source's
position, and sends that copy in small statements: a server parses each statement whole and
glibc keeps what the largest took, so mysqldump's default 1 MB statements left each rebuilt
server several MB larger for good (bench/soak.py: steps of 5-7 MB at each rebuild)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.rds.mysql import DUMP_STATEMENT_BYTES, RdsPair

ROWS = 5000


@pytest.fixture()
def pair(tmp_path: Path) -> Iterator[RdsPair]:
    p = RdsPair(base=tmp_path / "mysql", database="app", admin_user="admin", admin_password="a" * 12,
                app_user="app", app_password="b" * 12, delay_s=0.0, tables=("projects",))
    p.start()
    yield p
    p.close()


def _rows(pair: RdsPair, role: str) -> int:
    with pair.admin(role) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM projects")
        row = cur.fetchone()
        return int(row[0]) if row else 0


def test_a_rebuilt_replica_holds_the_source_data_sent_in_small_statements(pair: RdsPair) -> None:
    with pair.admin("primary") as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO projects (name, owner, region, created_at) VALUES (%s, %s, %s, NOW(6))",
                        [(f"project {i} " + "x" * 60, f"owner{i % 50}", "ap-northeast-2") for i in range(ROWS)])
        conn.commit()
    deadline = time.monotonic() + 30
    while _rows(pair, "dr") != ROWS and time.monotonic() < deadline:  # replicated before the promotion
        time.sleep(0.1)
    assert _rows(pair, "dr") == ROWS
    dump = pair.dump("primary")
    inserts = [line for line in dump.splitlines() if line.startswith(b"INSERT INTO")]
    assert len(inserts) > 1  # the default sends these rows (about 500 KB) in one statement
    assert max(map(len, inserts)) <= DUMP_STATEMENT_BYTES
    pair.promote("dr")  # the DR instance is the writer now; the primary is rebuilt as its replica
    pair.reseed("primary", "dr")
    assert _rows(pair, "primary") == ROWS
    with pair.admin("dr") as conn, conn.cursor() as cur:  # and it replicates from there
        cur.execute("INSERT INTO projects (name, owner, region, created_at) VALUES ('after', 'o', 'dr', NOW(6))")
        conn.commit()
    deadline = time.monotonic() + 30
    while _rows(pair, "primary") != ROWS + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _rows(pair, "primary") == ROWS + 1
