"""User traffic as the drill sends it: the traffic profile of the policy config, run by locust in its
own process (never imported by the engine). Also the template of a team's own locustfile
(``load.locustfile``): it must log every request the same way.

Each user resolves the application's hostnames through the configured DNS resolver, caching each
answer for its TTL as a client does, and sends each request to the address that answered (with
the hostname as Host / TLS server name). Which region served a request is the region of that
address (the load balancers' names resolved by the same resolver, refreshed every 10 s), or a
field of the JSON answer (``region_by: field``).

Every request becomes one record (CSV: start time, method, name, status, latency ms, serving
region, ok, address). A single process writes them itself; in a distributed run the workers send
them to the master over locust's messaging, batched, and the master writes one log, on its own
clock: it measures each worker's clock offset (ping/pong, the middle of the round trip) and
corrects the worker's timestamps. The log is gzip, one member per flush, so a reader can follow it.

Environment: DRILL_PROFILE (JSON, see ``drill.traffic.locust.profile_env``), DRILL_REQUEST_LOG,
DRILL_PARENT_PID, DRILL_CLOCK_SKEW_S (tests only: a worker whose clock is off by this much).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import statistics
import time
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

PROFILE: dict[str, Any] = json.loads(os.environ.get("DRILL_PROFILE") or "{}")
LOG_PATH = os.environ.get("DRILL_REQUEST_LOG", "")
PARENT_PID = int(os.environ.get("DRILL_PARENT_PID", "0") or 0)
SKEW = float(os.environ.get("DRILL_CLOCK_SKEW_S", "0") or 0)
REQUESTS = PROFILE.get("requests") or [{"name": "GET /", "method": "GET", "host": "", "path": "/", "weight": 1}]
WEIGHTS = [int(r.get("weight", 1)) for r in REQUESTS]

_buffer: list[str] = []
_offsets: dict[str, list[float]] = {}  # worker id -> measured offsets (worker clock - master clock)
_regions: dict[str, str] = {}  # address -> region
_dns_cache: dict[str, tuple[float, list[str]]] = {}


def now() -> float:
    return time.time() + SKEW


def _resolver() -> Any:
    import dns.resolver

    spec = PROFILE.get("resolver")
    if spec:
        r = dns.resolver.Resolver(configure=False)
        host, _, port = str(spec).rpartition(":")
        r.nameservers, r.port = [host], int(port)
    else:
        r = dns.resolver.Resolver()
    r.lifetime = 2.0
    return r


RESOLVER = _resolver() if PROFILE else None


def resolve(name: str, cached: bool = True) -> str:
    hit = _dns_cache.get(name)
    if cached and hit and hit[0] > time.monotonic():
        return random.choice(hit[1])
    answer = RESOLVER.resolve(name, "A")  # type: ignore[union-attr]
    ips = [r.to_text() for r in answer]
    _dns_cache[name] = (time.monotonic() + (answer.rrset.ttl if answer.rrset is not None else 0), ips)
    return random.choice(ips)


def _refresh_regions() -> None:
    for region, names in (PROFILE.get("albs") or {}).items():
        for name in names:
            try:
                for ip in (r.to_text() for r in RESOLVER.resolve(name, "A")):  # type: ignore[union-attr]
                    _regions[ip] = region
            except Exception:
                continue


def _write(lines: list[str]) -> None:
    if LOG_PATH and lines:
        with open(LOG_PATH, "ab") as fh:
            fh.write(gzip.compress("".join(lines).encode(), compresslevel=3))


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    import gevent

    runner = environment.runner
    if PARENT_PID:  # the master too: it writes the log, and a master left waiting for workers never ends
        def watch_parent() -> None:
            """A drill killed with SIGKILL cannot stop its load: stop when the drill is gone."""
            while True:
                gevent.sleep(0.5)
                try:
                    os.kill(PARENT_PID, 0)
                except ProcessLookupError:
                    try:
                        _flush(environment)
                        if environment.runner is not None:
                            environment.runner.quit()
                    finally:
                        os._exit(0)

        gevent.spawn(watch_parent)
    if isinstance(runner, MasterRunner):
        def on_records(environment: Environment, msg: Any, **_: Any) -> None:
            offset = statistics.median(_offsets.get(msg.node_id) or [0.0])
            out = []
            for line in msg.data:
                t, rest = line.split(",", 1)
                out.append(f"{float(t) - offset:.6f},{rest}")
            _write(out)

        def on_pong(environment: Environment, msg: Any, **_: Any) -> None:
            t1 = time.time()
            t0, tw = msg.data["t0"], msg.data["tw"]
            if t1 - t0 < 1.0:  # a slow round trip says little about the offset
                _offsets.setdefault(msg.node_id, []).append(tw - (t0 + t1) / 2)
                del _offsets[msg.node_id][:-15]

        runner.register_message("drill_records", on_records)
        runner.register_message("drill_pong", on_pong)

        def ping() -> None:
            while True:
                for worker in list(runner.clients):
                    runner.send_message("drill_ping", {"t0": time.time()}, client_id=worker)
                gevent.sleep(2.0 if sum(len(v) for v in _offsets.values()) < 5 * max(1, len(runner.clients)) else 10.0)

        gevent.spawn(ping)
        return  # the master sends no requests
    if isinstance(runner, WorkerRunner):
        runner.register_message("drill_ping", lambda environment, msg, **_: runner.send_message(
            "drill_pong", {"t0": msg.data["t0"], "tw": now()}))

    def flusher() -> None:
        while True:
            gevent.sleep(0.25)
            _flush(environment)

    def regions() -> None:
        while True:
            _refresh_regions()
            gevent.sleep(10.0)

    if PROFILE:
        gevent.spawn(regions)
        if PROFILE.get("scheme") == "https" and PROFILE.get("resolver"):
            import socket

            names = set(PROFILE.get("hosts", {}).values())
            original = socket.getaddrinfo

            def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:  # TLS needs the name: resolve it here
                return original(resolve(host) if host in names else host, *args, **kwargs)

            socket.getaddrinfo = getaddrinfo
    gevent.spawn(flusher)


def _flush(environment: Environment) -> None:
    if not _buffer:
        return
    lines = _buffer[:]
    del _buffer[:len(lines)]
    if isinstance(environment.runner, WorkerRunner):
        for i in range(0, len(lines), 2000):
            environment.runner.send_message("drill_records", lines[i:i + 2000])
    else:
        _write(lines)


@events.request.add_listener
def _on_request(request_type: str, name: str, response_time: float, response: Any = None, exception: Any = None,
                context: Any = None, start_time: float | None = None, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    ok = exception is None and 200 <= status < 400
    address = (context or {}).get("address", "")
    region = _regions.get(address, "")
    if PROFILE.get("region_by") == "field" and response is not None:
        try:
            region = str(json.loads(response.text or "{}").get(PROFILE.get("region_field", "region"), ""))
        except (ValueError, AttributeError):
            region = ""
    t = (start_time if start_time is not None else time.time() - response_time / 1000.0) + SKEW
    _buffer.append(f"{t:.6f},{request_type},{name},{status},{response_time:.2f},{region},{int(ok)},{address}\n")


@events.quitting.add_listener
def _on_quit(environment: Environment, **_: Any) -> None:
    _flush(environment)


class ProfileUser(FastHttpUser):
    host = "http://drill.invalid"  # every request names its own address
    wait_time = constant_throughput(float(PROFILE.get("user_rps", 1)))
    network_timeout = 3.0
    connection_timeout = 2.0

    @task
    def one(self) -> None:
        req = random.choices(REQUESTS, WEIGHTS)[0]
        fqdn = PROFILE.get("hosts", {}).get(req.get("host"), req.get("host"))
        scheme, port = PROFILE.get("scheme", "http"), PROFILE.get("port", 80)
        try:
            address = resolve(fqdn)
        except Exception as exc:
            events.request.fire(request_type=req.get("method", "GET"), name=req["name"], response_time=0,
                                response_length=0, exception=exc, context={"address": ""}, start_time=time.time())
            return
        url = f"{scheme}://{address}:{port}{req['path']}" if scheme == "http" else f"https://{fqdn}:{port}{req['path']}"
        body = req.get("json_body")
        if body:
            body = json.loads(json.dumps(body).replace("{rand}", str(random.randint(0, 10**9))))
        self.client.request(req.get("method", "GET"), url, name=req["name"], json=body, headers={"Host": fqdn},
                            context={"address": address})
