"""A small threaded HTTP/1.1 server (keep-alive) for the twin's endpoints.

An app is ``app(req) -> Response``; servers run on daemon threads and stop on ``shutdown``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
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


class _FastProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive on asyncio: parses in the event loop, runs the app inline when
    it cannot block and on a thread pool when ``blocking(req)`` says it may (database calls)."""

    def __init__(self, server: FastServer):
        self.server = server
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
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
                fut = loop.run_in_executor(self.server.pool, self.server.call, req)
                fut.add_done_callback(functools.partial(self._finished, req, close))
                return
            self._send(self.server.call(req), req, close)

    def _finished(self, req: Request, close: bool, fut: asyncio.Future[Response]) -> None:
        self._done(fut.result(), req, close)

    def _done(self, resp: Response, req: Request, close: bool) -> None:
        self.busy = False
        self._send(resp, req, close)
        if self.buf:
            self._next()

    def _send(self, resp: Response, req: Request, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        reason = _REASONS.get(resp.status, "OK")
        lines = [f"HTTP/1.1 {resp.status} {reason}"]
        lines += [f"{k}: {v}" for k, v in resp.headers.items()]
        lines.append(f"Content-Length: {len(resp.body)}")
        if close:
            lines.append("Connection: close")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.transport.write(payload + (b"" if req.method == "HEAD" else resp.body))
        if close:
            self.transport.close()


_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            422: "Unprocessable Entity", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}


class FastServer:
    """An asyncio HTTP server on its own thread, for the user-facing hot path (the edge)."""

    def __init__(self, app: App, host: str, port: int, name: str,
                 blocking: Callable[[Request], bool] | None = None, threads: int = 32):
        from concurrent.futures import ThreadPoolExecutor

        self.app = app
        self.blocking = blocking
        self.name = name
        self.host = host
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix=f"{name}-app")
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        holder: dict[str, Any] = {}

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            srv = self.loop.run_until_complete(
                self.loop.create_server(lambda: _FastProtocol(self), host, port, reuse_address=True, backlog=512))
            holder["server"] = srv
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name=f"http-{name}", daemon=True)
        self.thread.start()
        ready.wait(10)
        self._server = holder["server"]
        self.port = int(self._server.sockets[0].getsockname()[1])

    def call(self, req: Request) -> Response:
        try:
            return self.app(req)
        except Exception as exc:
            return Response.json({"error": type(exc).__name__, "detail": str(exc)[:300]}, 500)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def shutdown(self) -> None:
        self.loop.call_soon_threadsafe(self._server.close)
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
