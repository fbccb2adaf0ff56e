"""The AWS emulator endpoint: moto's server app behind a thin regional-outage switch.

A region marked down answers every request signed for it with 503 ServiceUnavailable, before
moto sees it, the way a regional endpoint fails in an outage; global services (Route 53, IAM,
CloudFront, signed for us-east-1) keep answering.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import make_server

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")

down_regions: set[str] = set()


def _region_of(environ: dict[str, Any]) -> str | None:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _SCOPE.search(auth)
    if m:
        return m.group(1)
    cred = environ.get("QUERY_STRING", "")
    m = re.search(r"X-Amz-Credential=[^%&]+(?:%2F|/)\d{8}(?:%2F|/)([a-z0-9-]+)", cred)
    return m.group(1) if m else None


def outage_middleware(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if down_regions:
            region = _region_of(environ)
            if region in down_regions:
                body = (f"<Error><Code>ServiceUnavailable</Code><Message>region {region} is unavailable "
                        "(sandbox outage)</Message></Error>").encode()
                ctype = "application/xml"
                if "json" in environ.get("CONTENT_TYPE", "") or "X-Amz-Target" in str(environ.get("HTTP_X_AMZ_TARGET")):
                    body = (b'{"__type":"ServiceUnavailable","message":"region ' + region.encode()
                            + b' is unavailable (sandbox outage)"}')
                    ctype = "application/x-amz-json-1.0"
                start_response("503 Service Unavailable", [("Content-Type", ctype),
                                                           ("Content-Length", str(len(body)))])
                return [body]
        return app(environ, start_response)

    return wrapped


class MotoServer:
    def __init__(self, host: str, port: int):
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        from moto.moto_server.threaded_moto_server import MotoRequestHandler
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = outage_middleware(DomainDispatcherApplication(create_backend_app))
        self.server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self.port = int(self.server.server_port)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
