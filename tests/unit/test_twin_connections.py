"""The twin holds the connections today's traffic needs, not every one it ever opened: its load
balancers close keep-alive connections idle past the idle timeout (as an ALB does), and the
services' database pools close connections idle past theirs. Without either, a long drill's data
plane kept every connection to the region it no longer served (bench/soak.py: open files +84 %)."""

from __future__ import annotations

import socket
import time
from typing import Any

from drill.core.waits import wait_until
from sandbox.httpserver import FastServer, Response
from sandbox.services import DbPool


class _Conn:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


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
