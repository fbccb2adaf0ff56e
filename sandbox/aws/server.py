"""The AWS endpoint of the twin: moto's server app on loopback, and, for the localstack target,
a router that sends chosen services to a real LocalStack.

Routing (``Router``): a request whose SigV4 scope names a routed service is forwarded as it
came (method, raw path, headers, body) to LocalStack, and LocalStack's answer goes back as it
came. Two things LocalStack stores but does not do are supplied here, the same way the moto
extensions supply them: S3 cross-region replication (a stored object is handed to the twin's
CRR worker) and Route 53 health-check status (answered from the twin's health checker).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import make_server

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/")
_QUERY_SCOPE = re.compile(r"X-Amz-Credential=[^%&]+(?:%2F|/)\d{8}(?:%2F|/)([a-z0-9-]+)(?:%2F|/)([a-z0-9-]+)")



def _scope_of(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(region, signing service) from the request's SigV4 credential scope."""
    m = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or _QUERY_SCOPE.search(environ.get("QUERY_STRING", ""))
    return (m.group(1), m.group(2)) if m else (None, None)


_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
_HEALTH_STATUS = re.compile(r"^/2013-04-01/healthcheck/([^/]+)/status$")


class Router:
    """Sends the requests of ``services`` (signing names) to ``url``; the rest to ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], url: str, services: set[str],
                 on_s3_put: Callable[[str, str], None] | None = None,
                 health_status: Callable[[str], tuple[bool, str, str]] | None = None):
        from urllib.parse import urlsplit

        self.app = app
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 4566
        self.services = services
        self.on_s3_put = on_s3_put
        self.health_status = health_status
        self.forwarded: dict[str, int] = {}
        self._local = threading.local()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        _, service = _scope_of(environ)
        if service not in self.services:
            return self.app(environ, start_response)
        path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        if "?" not in path and environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        method = environ["REQUEST_METHOD"]
        if service == "route53" and method == "GET" and self.health_status is not None:
            m = _HEALTH_STATUS.match(path.split("?")[0])
            if m:
                return self._health(m.group(1), start_response)
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        body = stream.read(int(length)) if length else (stream.read() if environ.get("wsgi.input_terminated") else b"")
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        headers["Content-Length"] = str(len(body))
        headers.pop("Transfer-Encoding", None)
        headers.pop("Expect", None)  # the whole body is already here; no 100-continue round trip
        status, reason, out_headers, data = self._send(method, path, body, headers)
        self.forwarded[service] = self.forwarded.get(service, 0) + 1
        if (service == "s3" and method == "PUT" and status == 200 and self.on_s3_put is not None
                and "?" not in path and "X-Amz-Copy-Source" not in headers):
            bucket, _, key = path.lstrip("/").partition("/")
            if key:
                from urllib.parse import unquote

                self.on_s3_put(bucket, unquote(key))
        start_response(f"{status} {reason}", [(k, v) for k, v in out_headers if k.lower() not in _HOP
                                              and k.lower() != "content-length"]
                       + [("Content-Length", str(len(data)))])
        return [data]

    def _send(self, method: str, path: str, body: bytes, headers: dict[str, str]
              ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        import http.client

        for attempt in (1, 2):  # a pooled connection LocalStack closed is retried once on a new one
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, resp.reason, resp.getheaders(), data
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _health(self, hc_id: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
        from xml.sax.saxutils import escape

        assert self.health_status is not None
        healthy, text, checked = self.health_status(hc_id)
        status = text if healthy else f"Failure: {text}"
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<GetHealthCheckStatusResponse '
                'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><HealthCheckObservations>'
                '<HealthCheckObservation><Region>us-east-1</Region><IPAddress>127.0.0.1</IPAddress>'
                f'<StatusReport><Status>{escape(status)}</Status><CheckedTime>{escape(checked)}</CheckedTime>'
                '</StatusReport></HealthCheckObservation></HealthCheckObservations>'
                '</GetHealthCheckStatusResponse>').encode()
        start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]


class MotoServer:
    def __init__(self, host: str, port: int, route: Callable[[Callable[..., Iterable[bytes]]], Any] | None = None):
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        from moto.moto_server.threaded_moto_server import MotoRequestHandler
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        def service_app(service: Any) -> Any:
            # moto's apps run in Flask's debug mode, which makes a class for every request that
            # reads a body: garbage that grew the twin's memory through a long drill
            app = create_backend_app(service)
            app.debug = False
            return app

        backend: Callable[..., Iterable[bytes]] = DomainDispatcherApplication(service_app)
        self.router = route(backend) if route is not None else None
        app = self.router or backend
        self.server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self.port = int(self.server.server_port)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
