"""Small HTTP/1.1 servers (keep-alive) for the twin's endpoints: ``Server`` (threaded, for the
control plane) and ``FastServer`` (asyncio, for what users reach: each site with a gate that
plays its network path). An app is ``app(req) -> Response``."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def host(self) -> str:
        return self.headers.get("host", "").split(":")[0].lower()

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def arg(self, name: str, default: str | None = None) -> str | None:
        vals = self.query.get(name)
        return vals[0] if vals else default


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return cls(status, json.dumps(data, default=str).encode(), h)

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


App = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    app: App

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, url.path, parse_qs(url.query),
                      {k.lower(): v for k, v in self.headers.items()}, body)
        try:
            resp = self.app(req)
        except Exception as exc:  # an app bug must not kill the connection thread silently
            resp = Response.json({"error": type(exc).__name__, "detail": str(exc)[:300]}, 500)
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


class Site:
    """One listening address of a FastServer: its app and its gate (closed: connections dropped)."""

    def __init__(self, app: App, gate: Callable[[], bool] | None):
        self.app = app
        self.gate = gate
        self.transports: dict[asyncio.Transport, _FastProtocol] = {}
        self.port = 0

    def open(self) -> bool:
        return self.gate is None or self.gate()


class _FastProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive on asyncio: parses in the event loop, runs the app inline when
    it cannot block and on a thread pool when ``blocking(req)`` says it may (store calls)."""

    def __init__(self, server: FastServer, site: Site):
        self.server = server
        self.site = site
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.last = time.monotonic()  # the last request in or response out (the idle timeout's clock)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = conn = cast(asyncio.Transport, transport)  # a stream server's: a Transport
        if not self.site.open():  # the network path is cut: the connection goes nowhere
            conn.abort()
            return
        self.site.transports[conn] = self

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.site.transports.pop(self.transport, None)

    def data_received(self, data: bytes) -> None:
        self.last = time.monotonic()
        self.buf += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        while not self.busy:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536 and self.transport is not None:
                    self.transport.close()
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            try:
                method, target, _version = head[0].split(" ", 2)
            except ValueError:
                if self.transport is not None:
                    self.transport.close()
                return
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            url = urlsplit(target)
            req = Request(method, url.path, parse_qs(url.query) if url.query else {}, headers, body)
            close = headers.get("connection", "").lower() == "close"
            if self.server.blocking is not None and self.server.blocking(req):
                self.busy = True
                loop = asyncio.get_running_loop()
                fut = loop.run_in_executor(self.server.pool, self.server.call, self.site.app, req)
                fut.add_done_callback(functools.partial(self._finished, req, close))
                return
            self._send(self.server.call(self.site.app, req), req, close)

    def _finished(self, req: Request, close: bool, fut: asyncio.Future[Response]) -> None:
        self.busy = False
        self._send(fut.result(), req, close)
        if self.buf:
            self._next()

    def _send(self, resp: Response, req: Request, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if not self.site.open():
            self.transport.abort()
            return
        reason = _REASONS.get(resp.status, "OK")
        lines = [f"HTTP/1.1 {resp.status} {reason}"]
        lines += [f"{k}: {v}" for k, v in resp.headers.items()]
        lines.append(f"Content-Length: {len(resp.body)}")
        if close:
            lines.append("Connection: close")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.transport.write(payload + (b"" if req.method == "HEAD" else resp.body))
        self.last = time.monotonic()
        if close:
            self.transport.close()


_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 422: "Unprocessable Entity", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable"}


class FastServer:
    """An asyncio HTTP server on its own thread, for the user-facing hot path: several sites
    (address, port, app, gate) on one event loop and one thread pool."""

    def __init__(self, name: str, blocking: Callable[[Request], bool] | None = None, threads: int = 32,
                 idle_timeout_s: float | None = None):
        from concurrent.futures import ThreadPoolExecutor

        self.blocking = blocking
        self.idle_timeout_s = idle_timeout_s
        self.name = name
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix=f"{name}-app")
        self.loop = asyncio.new_event_loop()
        self.sites: list[Site] = []
        self._servers: list[asyncio.Server] = []
        self.thread = threading.Thread(target=self._run, name=f"http-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        if self.idle_timeout_s:
            self.loop.call_soon(self._close_idle)
        self.loop.run_forever()

    def _close_idle(self) -> None:
        """Close the keep-alive connections idle longer than the idle timeout, as a load balancer
        does (an ALB's default: 60 s): a client that moved to the other region (a DNS switch) does
        not hold its old connections open here for good."""
        assert self.idle_timeout_s
        cutoff = time.monotonic() - self.idle_timeout_s
        try:
            for site in self.sites:
                for t, proto in list(site.transports.items()):
                    if not proto.busy and proto.last < cutoff:
                        t.close()
        finally:  # whatever happened, the next round comes
            self.loop.call_later(min(5.0, self.idle_timeout_s / 4), self._close_idle)

    def listen(self, app: App, host: str, port: int, gate: Callable[[], bool] | None = None) -> Site:
        site = Site(app, gate)

        async def start() -> asyncio.Server:
            return await self.loop.create_server(lambda: _FastProtocol(self, site), host, port, reuse_address=True,
                                                 backlog=512)

        server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self._servers.append(server)
        site.port = int(server.sockets[0].getsockname()[1])
        self.sites.append(site)
        return site

    def drop(self, site: Site) -> None:
        """Abort every open connection of a site (its network path was just cut)."""
        def drop() -> None:
            for t in list(site.transports):
                t.abort()
            site.transports.clear()

        self.loop.call_soon_threadsafe(drop)

    @staticmethod
    def call(app: App, req: Request) -> Response:
        try:
            return app(req)
        except Exception as exc:
            return Response.json({"error": type(exc).__name__, "detail": str(exc)[:300]}, 500)

    def shutdown(self) -> None:
        for server in self._servers:
            self.loop.call_soon_threadsafe(server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.pool.shutdown(wait=False, cancel_futures=True)


class Server:
    """A running server on its own thread."""

    def __init__(self, app: App, host: str, port: int, name: str):
        handler = type(f"Handler_{name}", (_Handler,), {"app": staticmethod(app)})
        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self.name = name
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       name=f"http-{name}", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
