"""The users' view: names resolved through DNS (answers cached for their TTL, as clients do),
requests sent to the address that answered, and which region served each one.

Which region served is learned as on an account: the address that answered, matched against the
addresses of each region's load balancers (their DNS names resolved through the same resolver),
or, with ``endpoints.region_by: field``, a field the application's own JSON answer carries. Never
a header only a twin would add.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.resolver

from drill.core.schema import ROLES
from drill.targets.base import Target


class Dns:
    """A stub resolver whose cache honours each answer's TTL."""

    def __init__(self, resolver: str | None, timeout_s: float = 2.0):
        if resolver:
            host, _, port = resolver.rpartition(":")
            self._r = dns.resolver.Resolver(configure=False)
            self._r.nameservers = [host]
            self._r.port = int(port)
        else:
            self._r = dns.resolver.Resolver()
        self._r.lifetime = timeout_s
        self._cache: dict[str, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str, cached: bool = True) -> list[str]:
        """The name's addresses; raises LookupError when it has none."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(name)
        if cached and hit and hit[0] > now:
            return hit[1]
        try:
            answer = self._r.resolve(name, "A")
        except (dns.exception.DNSException, OSError) as exc:
            raise LookupError(f"{name}: {type(exc).__name__}") from None
        ips = [r.to_text() for r in answer]
        ttl = answer.rrset.ttl if answer.rrset is not None else 0
        with self._lock:
            self._cache[name] = (now + ttl, ips)
        return ips

    def ttl_left(self, name: str) -> float:
        with self._lock:
            hit = self._cache.get(name)
        return max(0.0, hit[0] - time.monotonic()) if hit else 0.0


@dataclass(frozen=True)
class Answer:
    host: str
    status: int  # 0: no answer (connection refused, reset, timeout, no DNS answer)
    region: str  # '' when unknown
    address: str
    body: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


class Web:
    def __init__(self, target: Target):
        self.target = target
        self.ep = target.endpoints()
        self.dns = Dns(self.ep.resolver, self.ep.timeout_s)
        self._regions: dict[str, str] = {}
        self._regions_at = 0.0
        self._lock = threading.Lock()
        # one TLS context for every probe: a context per request loaded the CA store each time
        # (OpenSSL's memory, not Python's: the harness's resident size stepped with the probes)
        self._tls = ssl.create_default_context() if self.ep.scheme == "https" else None

    # ------------------------------------------------------------------ which region an address is in

    def region_of(self, address: str) -> str:
        with self._lock:
            stale = address not in self._regions or time.monotonic() - self._regions_at > 30
        if stale:
            self.refresh_regions()
        return self._regions.get(address, "")

    def refresh_regions(self) -> dict[str, str]:
        """Every load balancer of both regions (ELB API, paginated), its DNS name resolved."""
        found: dict[str, str] = {}
        for role in ROLES:
            region = self.target.cfg.side(role).region
            elb = self.target.client("elbv2", region)
            for page in elb.get_paginator("describe_load_balancers").paginate():
                for lb in page["LoadBalancers"]:
                    try:
                        found.update(dict.fromkeys(self.dns.resolve(lb["DNSName"], cached=False), region))
                    except LookupError:
                        continue
        with self._lock:
            self._regions, self._regions_at = found, time.monotonic()
        return found

    # ------------------------------------------------------------------ requests

    def get(self, host: str, path: str, timeout: float | None = None) -> Answer:
        try:
            address = self.dns.resolve(host)[0]
        except LookupError as exc:
            return Answer(host, 0, "", "", error=str(exc))
        status, body, error = self._request(address, host, path, timeout or self.ep.timeout_s)
        if self.ep.region_by == "field":
            region = str(body.get(self.ep.region_field, "")) if isinstance(body, dict) else ""
        else:
            region = self.region_of(address)
        return Answer(host, status, region, address, body, error)

    def _request(self, address: str, host: str, path: str, timeout: float) -> tuple[int, Any, str]:
        port = self.ep.port_or_default()
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=host)
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
            conn.sock = sock
            try:
                conn.request("GET", path, headers={"Host": host, "User-Agent": "drill-probe"})
                resp = conn.getresponse()
                raw = resp.read()
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            return 0, None, f"{type(exc).__name__}: {exc}"[:200]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw[:200].decode(errors="replace")
        return resp.status, body, ""
