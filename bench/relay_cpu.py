"""The relay's own Python cost per request, with no kernel in the way: what our code spends between a client's
bytes arriving and the answer's bytes leaving, measured in one process.

The same topology as bench/dataplane.py's benchmark service (five rules, the fifth forwarding 50/50 to two
IP target groups, an access log subscription) is created through the API's own request path in this process
(`Gateway.handle`) on a temporary state dir; a real `DataPlane` compiles it. Then one client connection
(`relay._ClientConnection`) is driven with fake transports: wrk's request head in, the head the target gets
out, nginx's response in, the client's answer out; upstream connections are pooled fakes. Every call in that
path is the real one (reader, decide, head encoding, the record hook: metrics and the access log sink); only
the socket writes and the event loop are missing. Compare with bench/dataplane.py's "CPU per request" to see
what the kernel and the loop add.

    .venv/bin/python bench/relay_cpu.py                 # best of 5 rounds of 20,000 requests
    .venv/bin/python bench/relay_cpu.py --profile 30    # cProfile: the top 30 functions by own time
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from dataplane import ip_group  # the benchmarks' own helpers, beside this file

ACCOUNT, REGION = "000000000000", "us-west-2"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 04 Dec 2026 21:55:57 GMT\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\na\n"
)


class FakeTransport(asyncio.Transport):
    """Keeps what is written; never pauses, never closes."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def close(self) -> None:
        pass


def build(state_dir: Path) -> tuple[Any, str]:
    """The benchmark topology through the API's request path; returns a started-up DataPlane and the host."""
    from latticework.config import Settings
    from latticework.control.api.gateway import Gateway, Request
    from latticework.control.backend import Backend
    from latticework.control.store.factory import open_store
    from latticework.dataplane.server import DataPlane

    store = open_store(None, state_dir)
    gateway = Gateway(Backend(store, Settings(account=ACCOUNT, region=REGION, provisioning_seconds=0)))

    def call(method: str, path: str, body: dict[str, Any] | None = None, form: str | None = None) -> Any:
        headers = {"content-type": "application/json"}
        data = json.dumps(body).encode() if body is not None else b""
        if form is not None:
            headers, data = {"content-type": "application/x-www-form-urlencoded"}, form.encode()
        response = gateway.handle(Request(method, path, [], headers, data))
        if response.status >= 300:
            raise SystemExit(f"{method} {path} answered {response.status}: {response.body[:300]!r}")
        return response.body if form is not None else json.loads(response.body or b"{}")

    created = call("POST", "/", form="Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16")
    vpc = created.split(b"<vpcId>")[1].split(b"</vpcId>")[0].decode()
    network = call("POST", "/servicenetworks", {"name": "bench-net"})["id"]
    call("POST", "/servicenetworkvpcassociations", {"serviceNetworkIdentifier": network, "vpcIdentifier": vpc})
    groups = [ip_group(call, vpc, name, port) for name, port in (("bench-a", 18001), ("bench-b", 18002))]
    service = call("POST", "/services", {"name": "bench"})
    fixed = {"fixedResponse": {"statusCode": 404}}
    forward = {"forward": {"targetGroups": [{"targetGroupIdentifier": g, "weight": 50} for g in groups]}}
    listener = call(
        "POST", f"/services/{service['id']}/listeners", {"name": "http", "protocol": "HTTP", "defaultAction": fixed}
    )["id"]
    rules = [
        (10, {"pathMatch": {"match": {"prefix": "/api"}}}, fixed),
        (20, {"headerMatches": [{"name": "x-channel", "match": {"exact": "beta"}}]}, fixed),
        (30, {"method": "POST"}, fixed),
        (40, {"pathMatch": {"match": {"exact": "/admin"}}}, fixed),
        (50, {"pathMatch": {"match": {"prefix": "/bench"}}}, forward),
    ]
    for priority, match, action in rules:
        body = {"name": f"r{priority}", "priority": priority, "match": {"httpMatch": match}, "action": action}
        call("POST", f"/services/{service['id']}/listeners/{listener}/rules", body)
    association = {"serviceNetworkIdentifier": network, "serviceIdentifier": service["id"]}
    call("POST", "/servicenetworkserviceassociations", association)
    destination = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:bench"
    call("POST", "/accesslogsubscriptions", {"resourceIdentifier": service["id"], "destinationArn": destination})
    plane = DataPlane(store, state_dir, check_health=False)
    plane.follower.refresh()
    return plane, service["dnsEntry"]["domainName"]


def driver(plane: Any, host: str) -> tuple[Any, Any]:
    """One client connection with pooled fake upstreams; returns (run(n), the client's transport)."""
    from latticework.dataplane.upstream import UpstreamConnection

    relay = plane.relay
    for port in (18001, 18002):
        for _ in range(2):
            upstream = UpstreamConnection(("127.0.0.1", port, False))
            upstream.connection_made(FakeTransport())
            relay.pool.release(upstream, reusable=True)
    client = relay.connection_for(next(iter(plane.snapshot().vpcs)))
    client_transport = FakeTransport()
    client.connection_made(client_transport)
    request = f"GET /bench HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()

    def run(n: int, keep: bool = False) -> None:
        written = client_transport.written
        for _ in range(n):
            client.data_received(request)
            upstream = client.flight.upstream
            upstream.data_received(RESPONSE)
            upstream.transport.written.clear()
            if not keep:
                written.clear()

    return run, client_transport


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per round (default 20,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best is printed (default 5)")
    parser.add_argument("--profile", type=int, metavar="TOP", help="cProfile one round; print the top TOP")
    args = parser.parse_args()
    asyncio.run(_measure(args))


async def _measure(args: argparse.Namespace) -> None:
    """Inside a running loop (the relay arms its timeout sweep), but nothing is awaited."""
    with tempfile.TemporaryDirectory(prefix="lw-relay-cpu-") as directory:
        plane, host = build(Path(directory))
        run, client = driver(plane, host)
        client.written.clear()
        run(1, keep=True)
        sample = b"".join(client.written)
        run(1000)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(run, args.requests)
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.profile)
        best = min(_timed(run, args.requests) for _ in range(args.rounds))
        plane.logs.close()
        print(f"relay Python cost per request (no sockets, no loop): {best * 1e6:.1f} us CPU "
              f"(best of {args.rounds} rounds of {args.requests:,})")  # fmt: skip
        print("the client's answer:", sample.decode(errors="replace").replace("\r\n", " | ")[:300])


def _timed(run: Any, n: int) -> float:
    """CPU seconds of this process per request: on a shared machine, time spent descheduled is not counted."""
    started = time.process_time()
    run(n)
    return (time.process_time() - started) / n


if __name__ == "__main__":
    main()
