"""The twin's DNS server: it answers for the hosted zones from their Route 53 records, as Route 53
does, and for the twin's load balancer and CloudFront names with their addresses.

Failover records follow health only where the PRIMARY record carries a health check (a record
without one is always healthy, so with a health check used for alerting only, the switch is the
manual record change). Alias records answer with their target's address; the TTL of an answer is
the record's own (a CNAME's), or for an alias the target's (``alias_ttl_s``: ELB names have 60 s
on AWS; the twin uses the applied ``route53.ttl_s``). Clients cache answers for their TTL, so the
DNS phase of a failover includes it, as on an account.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from dnslib import CNAME, QTYPE, RCODE, RR, SOA, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer


class ZoneAnswers(BaseResolver):  # type: ignore[misc]
    def __init__(self, r53: Any, addresses: Callable[[], dict[str, str]], health: Callable[[str], bool],
                 alias_ttl_s: float):
        self.r53 = r53
        self.addresses = addresses  # DNS name -> address, for the twin's load balancers and CloudFront
        self.health = health
        self.alias_ttl = max(1, int(round(alias_ttl_s)))
        self._cache: tuple[float, dict[str, list[dict[str, Any]]]] = (0.0, {})
        self._lock = threading.Lock()
        self.changes: list[dict[str, Any]] = []
        self._last: dict[str, str] = {}

    # ------------------------------------------------------------------ the zone's records

    def _zones(self) -> dict[str, list[dict[str, Any]]]:
        """zone name -> its record sets, read through the Route 53 API (paginated), cached 0.5 s."""
        at, zones = self._cache
        if time.monotonic() - at < 0.5:
            return zones
        out: dict[str, list[dict[str, Any]]] = {}
        for page in self.r53.get_paginator("list_hosted_zones").paginate():
            for zone in page["HostedZones"]:
                sets: list[dict[str, Any]] = []
                for rpage in self.r53.get_paginator("list_resource_record_sets").paginate(
                        HostedZoneId=zone["Id"].split("/")[-1]):
                    sets.extend(rpage["ResourceRecordSets"])
                out[zone["Name"].lower()] = sets
        with self._lock:
            self._cache = (time.monotonic(), out)
        return out

    def lookup(self, name: str) -> tuple[str, list[tuple[str, str, int]]]:
        """(rcode, [(type, value, ttl)]) for ``name`` (with its trailing dot), following CNAMEs once."""
        name = name.lower()
        addresses = {k.lower().rstrip(".") + ".": v for k, v in self.addresses().items()}
        if name in addresses:
            return "NOERROR", [("A", addresses[name], self.alias_ttl)]
        zones = self._zones()
        zone = next((z for z in sorted(zones, key=len, reverse=True) if name == z or name.endswith("." + z)), None)
        if zone is None:
            return "REFUSED", []
        sets = [r for r in zones[zone] if r["Name"].lower() == name and r["Type"] in ("A", "AAAA", "CNAME")]
        if not sets:
            return "NXDOMAIN", []
        rec = self._choose(sets)
        if "AliasTarget" in rec:
            target = rec["AliasTarget"]["DNSName"].lower().rstrip(".") + "."
            if target in addresses:
                return "NOERROR", [("A", addresses[target], self.alias_ttl)]
            return "SERVFAIL", []
        ttl = int(rec.get("TTL", self.alias_ttl))
        if rec["Type"] == "CNAME":
            target = rec["ResourceRecords"][0]["Value"].lower().rstrip(".") + "."
            out = [("CNAME", target, ttl)]
            if target in addresses:
                out.append(("A", addresses[target], min(ttl, self.alias_ttl)))
            return "NOERROR", out
        return "NOERROR", [(rec["Type"], v["Value"], ttl) for v in rec.get("ResourceRecords", [])]

    def _choose(self, sets: list[dict[str, Any]]) -> dict[str, Any]:
        primary = next((r for r in sets if r.get("Failover") == "PRIMARY"), None)
        secondary = next((r for r in sets if r.get("Failover") == "SECONDARY"), None)
        if primary is None:
            return sets[0]
        if secondary is None or not primary.get("HealthCheckId") or self.health(primary["HealthCheckId"]):
            return primary
        if secondary.get("HealthCheckId") and not self.health(secondary["HealthCheckId"]):
            return primary  # both unhealthy: Route 53 answers with the primary
        return secondary

    # ------------------------------------------------------------------ the server

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        qname = str(request.q.qname)
        try:
            rcode, answers = self.lookup(qname)
        except Exception:
            rcode, answers = "SERVFAIL", []
        reply.header.rcode = getattr(RCODE, rcode)
        qtype = QTYPE[request.q.qtype]
        for rtype, value, ttl in answers:
            if rtype == "CNAME":
                reply.add_answer(RR(qname, QTYPE.CNAME, rdata=CNAME(value), ttl=ttl))
            elif rtype == "A" and qtype in ("A", "ANY", "CNAME"):
                owner = answers[0][1] if answers[0][0] == "CNAME" else qname
                reply.add_answer(RR(owner, QTYPE.A, rdata=A(value), ttl=ttl))
        if rcode == "NXDOMAIN":
            reply.add_auth(RR(qname, QTYPE.SOA, rdata=SOA("ns.twin.", "hostmaster.twin.", (1, 60, 60, 60, 1)),
                              ttl=1))
        a = next((v for t, v, _ in answers if t == "A"), "")
        if a and self._last.get(qname) != a:
            self._last[qname] = a
            self.changes.append({"at": time.time(), "name": qname.rstrip("."), "answer": a})
            del self.changes[:-500]
        return reply


def serve(answers: ZoneAnswers, address: str, port: int) -> tuple[DNSServer, int]:
    """Start the DNS server (UDP) on ``address:port`` (0: a free port); returns it and its port."""
    server = DNSServer(answers, address=address, port=port)
    server.start_thread()
    return server, int(server.server.server_address[1])
