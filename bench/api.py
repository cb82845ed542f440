"""Control-plane API benchmark: the per-call cost of CreateService / GetService / ListServices / DeleteService
on a real `latticework server`, side by side with the bare round trip of `GET /_latticework/health`.

Starts the server in a temporary state dir on a free port, drives it over one keep-alive HTTP/1.1 connection
(http.client, not boto3, so client-side cost stays out of the numbers), and prints calls per second and
p50/p90/p99 latency per operation. Each API call is followed by a health call on the same connection, so the
peer runs under the same conditions (same store size, same moment); the ratio of the p50s is our per-call
cost over a bare round trip through uvicorn.

    .venv/bin/python bench/api.py                    # N=1000 of each, ListServices pages of the default 100
    .venv/bin/python bench/api.py --n 200 --max-results 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOAL_P50_MS = 3.0
HEALTH = "/_latticework/health"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(n: int) -> Iterator[int]:
    """A `latticework server` on a free port with a fresh state dir; yields the port."""
    with tempfile.TemporaryDirectory(prefix="latticework-bench-") as tmp:
        port = free_port()
        command = [
            sys.executable, "-m", "latticework", "server", "--state-dir", str(Path(tmp) / "state"),
            "--api-port", str(port), "--quota", f"services_per_region={n + 10}",
        ]  # fmt: skip
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(process, port)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=15)
            log.close()


def wait_healthy(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH}", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not become healthy in 20 s")


class Client:
    """One keep-alive connection; `call` returns (status, decoded JSON body, seconds taken)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any, float]:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"content-type": "application/json"} if payload is not None else {}
        start = time.perf_counter()
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - start
        return response.status, json.loads(raw) if raw else None, elapsed


@dataclass
class Samples:
    """Latencies (seconds) of one operation and of the health calls interleaved with it."""

    name: str
    calls: list[float]
    health: list[float]


def measure(client: Client, name: str, requests: list[tuple[str, str, dict[str, Any] | None]], status: int,
            on_body: Callable[[Any], None] = lambda _: None) -> Samples:  # fmt: skip
    samples = Samples(name, [], [])
    for method, path, body in requests:
        got, decoded, elapsed = client.call(method, path, body)
        if got != status:
            raise SystemExit(f"{name}: {method} {path} answered {got}, expected {status}: {decoded}")
        on_body(decoded)
        samples.calls.append(elapsed)
        peer_status, _, peer_elapsed = client.call("GET", HEALTH)
        if peer_status != 200:
            raise SystemExit(f"health answered {peer_status}")
        samples.health.append(peer_elapsed)
    return samples


def run(port: int, n: int, max_results: int | None) -> list[Samples]:
    client = Client(port)
    for _ in range(50):  # warm the connection, the interpreter's caches and the store
        client.call("GET", HEALTH)
        client.call("GET", "/services?maxResults=1")
    prefix = f"bench-{int(time.time())}"
    ids: list[str] = []
    create = [("POST", "/services", {"name": f"{prefix}-{i}"}) for i in range(n)]
    results = [measure(client, "CreateService", create, 201, lambda body: ids.append(body["id"]))]
    results.append(measure(client, "GetService", [("GET", f"/services/{i}", None) for i in ids], 200))
    # ListServices pages through all n services, one page per call, wrapping around.
    results.append(measure(client, "ListServices", list_requests(client, n, max_results), 200))
    results.append(measure(client, "DeleteService", [("DELETE", f"/services/{i}", None) for i in ids], 200))
    return results


def list_requests(client: Client, n: int, max_results: int | None) -> list[tuple[str, str, dict[str, Any] | None]]:
    """n ListServices requests walking the pages in order (tokens collected beforehand, untimed)."""
    first = f"/services?maxResults={max_results}" if max_results else "/services"
    paths = [first]
    while True:
        _, body, _ = client.call("GET", paths[-1])
        token = body.get("nextToken")
        if not token:
            break
        paths.append(f"{first}{'&' if max_results else '?'}nextToken={urllib.request.quote(token, safe='')}")
    return [("GET", paths[i % len(paths)], None) for i in range(n)]


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if len(values) > 1 else values[0]


def report(results: list[Samples], n: int, max_results: int | None) -> bool:
    """Prints the table and the goal line; True when every operation's p50 meets the goal."""
    page = f"maxResults={max_results}" if max_results else "the default page size"
    print(f"latticework API benchmark: N={n} per operation, one keep-alive connection, serial")
    print(f"ListServices lists {n} services with {page}")
    header = f"{'operation':<16}{'calls/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}" + (
        f"{'health p50':>12}{'ratio p50':>11}"
    )
    print(header)
    print("-" * len(header))
    met = True
    every_health: list[float] = []
    for s in results:
        p50 = percentile(s.calls, 50)
        peer = percentile(s.health, 50)
        every_health += s.health
        met = met and p50 * 1000 < GOAL_P50_MS
        print(
            f"{s.name:<16}{len(s.calls) / sum(s.calls):>9.0f}{p50 * 1000:>9.2f}"
            f"{percentile(s.calls, 90) * 1000:>9.2f}{percentile(s.calls, 99) * 1000:>9.2f}"
            f"{peer * 1000:>10.2f}ms{p50 / peer:>10.1f}x"
        )
    print(
        f"{'health (peer)':<16}{len(every_health) / sum(every_health):>9.0f}"
        f"{percentile(every_health, 50) * 1000:>9.2f}{percentile(every_health, 90) * 1000:>9.2f}"
        f"{percentile(every_health, 99) * 1000:>9.2f}"
    )
    print(f"goal p50 < {GOAL_P50_MS:g} ms per call: {'met' if met else 'not met'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="requests per operation (default 1000)")
    parser.add_argument("--max-results", type=int, help="ListServices page size (1-100; default: the server's)")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.max_results is not None and not 1 <= args.max_results <= 100:
        parser.error("--max-results must be from 1 to 100")
    with running_server(args.n) as port:
        results = run(port, args.n, args.max_results)
    report(results, args.n, args.max_results)


if __name__ == "__main__":
    main()
