"""The twin's network: each region's load balancers and databases on their own loopback addresses,
and what network ACLs do to them.

Linux routes all of 127.0.0.0/8 to loopback, so each part gets an address of its own in the
block ``sandbox.address_block`` (127.N.0.0/16): region r (1 primary, 2 DR) has its load
balancers on 127.N.r.(10 + i) and its database endpoint on 127.N.r.5; the DNS server answers on
127.N.0.53 and the CloudFront stand-in on 127.N.0.80. Clients learn these addresses as on an
account: by DNS (names) and the RDS API (endpoints).

A subnet whose network ACL allows no inbound traffic is cut, as on an account (a new ACL has only
the deny-all default entries; AWS FIS's disrupt-connectivity works this way). A load balancer is
cut when every one of its subnets is; a database when every subnet of its subnet group is.
``Relay`` is the network path in front of a database: a TCP relay that refuses and drops
connections while its gate says the path is cut.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

ROLE_INDEX = {"primary": 1, "dr": 2}


@dataclass(frozen=True)
class AddressPlan:
    block: str = "127.77"

    def alb(self, role: str, index: int) -> str:
        return f"{self.block}.{ROLE_INDEX[role]}.{10 + index}"

    def db(self, role: str) -> str:
        return f"{self.block}.{ROLE_INDEX[role]}.5"

    @property
    def dns(self) -> str:
        return f"{self.block}.0.53"

    @property
    def cloudfront(self) -> str:
        return f"{self.block}.0.80"


def acl_allows_inbound(acl: dict[str, Any]) -> bool:
    """Whether a network ACL (as DescribeNetworkAcls shows it) lets any inbound traffic in."""
    return any(not e.get("Egress") and e.get("RuleAction") == "allow" for e in acl.get("Entries", []))


def cut_subnets(acls: Iterable[dict[str, Any]]) -> set[str]:
    """Subnets associated with an ACL that allows nothing in."""
    out: set[str] = set()
    for acl in acls:
        if acl_allows_inbound(acl):
            continue
        out |= {a["SubnetId"] for a in acl.get("Associations", []) if a.get("SubnetId")}
    return out


class Relay:
    """A TCP relay on an asyncio loop: ``listen`` -> ``target``, closed while ``open_()`` is false."""

    def __init__(self, loop: asyncio.AbstractEventLoop, listen: tuple[str, int], target: tuple[str, int],
                 open_: Callable[[], bool]):
        self.loop, self.listen, self.target, self.open_ = loop, listen, target, open_
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.AbstractServer | None = None
        ready = threading.Event()

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, listen[0], listen[1], reuse_address=True)
            ready.set()

        asyncio.run_coroutine_threadsafe(start(), loop)
        if not ready.wait(10):
            raise TimeoutError(f"relay {listen} did not start")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open_():
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), 3)
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers -= {writer, up_writer}

    def drop_all(self) -> None:
        """Cut every open connection (the path just went down)."""
        def drop() -> None:
            for w in list(self._writers):
                w.transport.abort()
            self._writers.clear()

        self.loop.call_soon_threadsafe(drop)

    def close(self) -> None:
        if self._server is not None:
            self.loop.call_soon_threadsafe(self._server.close)
        self.drop_all()
