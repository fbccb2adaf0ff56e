"""The twin holds the connections today's traffic needs, not every one it ever opened: its load
balancers close keep-alive connections idle past the idle timeout (as an ALB does), and the
services' database pools close connections idle past theirs. Without either, a long drill's data
plane kept every connection to the region it no longer served (bench/soak.py: open files +84 %)."""

from __future__ import annotations

import functools
import socket
import time
from types import SimpleNamespace
from typing import Any

import pymysql
import pytest

from drill.core.waits import wait_until
from sandbox.httpserver import FastServer, Response
from sandbox.services import DbPool, RegionServices


class _Conn:
    def __init__(self, dead: bool = False, error: int = 2013, answers_ping: bool = False,
                 message: str = "Lost connection to MySQL server during query") -> None:
        self.closed = False
        self.dead = dead
        self.error, self.message = error, message  # 2013: lost during the query; 2006: gone before it was sent
        self.answers_ping = answers_ping  # dead only once the query is under way
        self.executed: list[str] = []

    def ping(self, reconnect: bool = False) -> None:
        if self.dead and not self.answers_ping:
            raise pymysql.err.OperationalError(2006, "MySQL server has gone away")

    def close(self) -> None:
        self.closed = True

    def cursor(self) -> Any:
        conn = self

        class _Cursor:
            lastrowid = 0

            def __enter__(self) -> Any:
                return self

            def __exit__(self, *exc: Any) -> None:
                pass

            def execute(self, sql: str, args: Any) -> None:
                conn.executed.append(sql)
                if conn.dead:  # the server went away (a cut, a promotion) while the connection idled
                    raise pymysql.err.OperationalError(conn.error, conn.message)

            def fetchall(self) -> list[tuple[Any, ...]]:
                return [(1,)]
        return _Cursor()


def test_a_pool_gives_back_its_most_recent_connection_and_closes_the_idle_ones() -> None:
    made: list[_Conn] = []

    def connect() -> Any:
        made.append(_Conn())
        return made[-1]

    pool = DbPool(connect, idle_s=0.2)
    a, reused = pool.take()
    b, _ = pool.take()
    assert not reused and len(made) == 2
    pool.give(a)
    time.sleep(0.3)
    pool.give(b)
    assert pool.reap() == 1 and a.closed and not b.closed  # a idled past 0.2 s, b was just given back
    again, reused = pool.take()
    assert again is b and reused
    assert pool.take()[1] is False and len(made) == 3  # nothing pooled left: a new connection


def test_a_request_that_finds_its_pooled_connection_dead_reconnects_with_a_new_one() -> None:
    """After a database cut or a promotion every pooled connection is dead: the retry takes a new
    connection, not the next dead one from the pool (which would fail the request for nothing)."""
    made: list[_Conn] = []

    def connect() -> Any:
        made.append(_Conn())
        return made[-1]

    pool = DbPool(connect, idle_s=60)
    dead = [_Conn(dead=True), _Conn(dead=True)]
    for conn in dead:
        pool.give(conn)
    services = SimpleNamespace(pool=pool, _connect=connect)
    assert RegionServices._sql(services, "SELECT 1") == ([(1,)], 0)  # type: ignore[arg-type]
    assert len(made) == 1 and dead[1].closed and dead[0].closed  # the other dead one is not tried: closed
    assert pool.take() == (made[0], True)  # the new connection went back to the pool


def test_a_write_is_sent_once() -> None:
    """Before a write goes on a pooled connection it is pinged (an application pool's pre-ping): a
    dead one empties the pool and the write goes once on a new connection. A write whose
    connection is lost during the query (2013) may have committed: it is not sent again, the
    request fails as the application's would, and the pool is emptied, unless the read timed out
    (a slow server, not a gone one); one gone before it was sent (2006) goes on a new connection."""
    made: list[_Conn] = []

    def connect() -> Any:
        made.append(_Conn())
        return made[-1]

    insert = "INSERT INTO items (name) VALUES (%s)"
    lost = "Lost connection to MySQL server during query"
    cases = [  # (pooled connections as found, written on a new connection, pool emptied)
        (dict(dead=True), True, True),
        (dict(dead=True, answers_ping=True, error=2006, message="gone away"), True, True),
        (dict(dead=True, answers_ping=True, message=lost), False, True),
        (dict(dead=True, answers_ping=True, message=lost + " (timed out)"), False, False),
    ]
    for found, written, emptied in cases:
        made.clear()
        pool = DbPool(connect, idle_s=60)
        pooled = [_Conn(**found), _Conn(**found)]  # type: ignore[arg-type]
        for conn in pooled:
            pool.give(conn)
        services = SimpleNamespace(pool=pool, _connect=connect)
        services._pinged = functools.partial(RegionServices._pinged, services)  # type: ignore[arg-type]
        if written:
            assert RegionServices._sql(services, insert, ("x",)) == ([(1,)], 0)  # type: ignore[arg-type]
            assert [c.executed for c in made] == [[insert]], found
        else:
            with pytest.raises(pymysql.err.OperationalError, match="Lost connection"):
                RegionServices._sql(services, insert, ("x",))  # type: ignore[arg-type]
            assert made == [], f"{found}: sent again"
        assert pooled[1].executed == ([insert] if found.get("answers_ping") else []), found  # pinged dead: not sent
        assert pooled[0].closed is emptied, found  # the other idle connection
        assert pool.take()[1] is (written or not emptied), found


def _request(sock: socket.socket) -> bytes:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock.recv(4096)


def test_the_load_balancer_closes_a_connection_idle_past_its_timeout() -> None:
    server = FastServer("idle-test", idle_timeout_s=0.4)
    try:
        site = server.listen(lambda req: Response(200, b"ok"), "127.0.0.1", 0)
        busy = socket.create_connection(("127.0.0.1", site.port), timeout=5)
        idle = socket.create_connection(("127.0.0.1", site.port), timeout=5)
        assert _request(busy).startswith(b"HTTP/1.1 200") and _request(idle).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:  # one client keeps using its connection, the other does not
            assert _request(busy).startswith(b"HTTP/1.1 200")
            time.sleep(0.1)
        assert idle.recv(4096) == b""  # closed by the server (a FIN, not an error)
        wait_until(lambda: len(site.transports) == 1, 2, "the closed connection forgotten")
        busy.close()
        idle.close()
    finally:
        server.shutdown()
