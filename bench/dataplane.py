"""Data-plane benchmark: Latticework's relay side by side with nginx in the same run, same backend, one worker
each, HTTP/1.1 keep-alive, small bodies; prints each figure, the ratio to nginx and the goal (issue 3).

What runs (everything on 127.0.0.1, free ports, a temp dir that is removed at the end):
- backend: one nginx (1 worker) with two ports, A answering `a\\n` and B answering `b\\n` (200, 2-byte body).
  Both proxies forward to these same two ports.
- nginx proxy (1 worker): HTTP and HTTPS server blocks, five locations of which the fifth (`/bench`) proxies
  and the others answer locally, a 50/50 split (split_clients on $request_id) over two upstreams A and B with
  `keepalive 64`, access log on (combined, to a file), X-Forwarded-* headers set. The HTTPS block uses the
  certificate Latticework serves for the service.
- latticework server (the system under test; the data plane runs in the server process): a service network,
  one VPC associated (its ingress port from STATE_DIR/dataplane/ingress.json), a service with an HTTP and an
  HTTPS listener, each with five rules where the fifth (`/bench` prefix) matches and forwards 50/50 to two
  target groups (A and B), an access log subscription on the service, a second service whose weights test 4
  flips, and 8 fixed-response services: 10 in all. Requests use direct mode (`Host: <service DNS name>`).

What is measured (the proxy's CPU per request, from /proc, is printed with every throughput run: the machine
is shared, and req/s moves much more between runs than CPU per request does):
1. HTTP req/s: `wrk -t1 -c32 -d5s` through each proxy, alternating rounds, best round each, with a third
   contender for scale, bench/_floor_proxy.py (a featureless Python relay: the floor under ours); in two layouts:
   pinned as in ../shared/reference/peers-and-performance.md 4.3 (the proxy under test alone on CPU 0, wrk and
   the backend on the other cores: each proxy gets one core, as "one worker each" means), then (1u) every
   process on every core, where a proxy's throughput also depends on how much CPU it leaves wrk and the backend.
2. HTTPS req/s: wrk cannot send CONNECT, so both sides are driven by the same C client, curl --parallel
   (HTTP/1.1, keep-alive connections reused): through the ingress as an HTTPS proxy (CONNECT, then TLS with
   the service's managed certificate) against nginx terminating TLS directly. A note adds wrk straight to
   nginx's TLS port, as curl limits nginx.
3. Latency at concurrency 1: `wrk -t1 -c1 --latency` on the backend directly and through each proxy; the
   added p50 is the proxy's p50 minus the backend's.
4. API change to live: UpdateListener (weights 100/0 <-> 0/100) on the second service; from the call
   returning, the time until /_latticework/health shows dataPlaneVersion >= configVersion, and until a request
   through the ingress is answered by the newly weighted backend. 4b: the same with all the services of 5.
5. Scale: 9,990 more services (CreateService + CreateListener + association each; by default through the
   API's request path in process with the server stopped, see `add_fillers_in_process`), then HTTP req/s
   against the 10-service figure, both with the server alone on CPU 0.
6. `--workers 2` against 1 (the server restarted on the same state dir), when the option exists.
Optionally (`--profile`, needs py-spy), a py-spy sample of the server under wrk load: the top functions.
Errors (non-2xx, socket errors, missing answers, error lines in the server's or nginx's log) are listed as
PROBLEM lines, never dropped.

    .venv/bin/python bench/dataplane.py
    .venv/bin/python bench/dataplane.py --duration 3 --services 2000 --skip https --profile
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEALTH = "/_latticework/health"
BENCH_PATH = "/bench/item?id=1"
ACCOUNT, REGION = "000000000000", "us-west-2"

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian puts it in sbin, not on every user's PATH
GOAL_HTTP, STRETCH_HTTP = 0.55, 0.75
GOAL_HTTPS = 0.6
GOAL_ADDED_P50_MS = 0.15
GOAL_LIVE_P99_MS = 100.0
GOAL_SCALE = 0.9


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, then SIGKILL if it is still running after `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Cpu:
    """CPU seconds (user, system) spent by a process tree and by the load client during one run."""

    user: float
    system: float
    client: float

    def per_request(self, requests: int) -> str:
        us = 1e6 / max(requests, 1)
        return (
            f"proxy CPU {(self.user + self.system) * us:.0f} us/req (user {self.user * us:.0f}, sys "
            f"{self.system * us:.0f}), client CPU {self.client * us:.0f} us/req"
        )

    def total_us(self, requests: int) -> float:
        return (self.user + self.system) * 1e6 / max(requests, 1)


def tree_cpu(root: int) -> tuple[float, float]:
    """(user, system) CPU seconds of `root` and its live descendants, from /proc/PID/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = _proc_stats()
    tree = _descendants(root, {pid: ppid for pid, (ppid, _, _) in stats.items()})
    user = sum(stats[pid][1] for pid in tree if pid in stats)
    system = sum(stats[pid][2] for pid in tree if pid in stats)
    return user / tick, system / tick


def pin(root: int, cpus: set[int]) -> None:
    """Every thread of `root` and its descendants onto `cpus`."""
    stats = _proc_stats()
    for pid in _descendants(root, {pid: ppid for pid, (ppid, _, _) in stats.items()}):
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(tid), cpus)


def _proc_stats() -> dict[int, tuple[int, int, int]]:
    """PID -> (parent PID, user ticks, system ticks) of every process."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), int(fields[11]), int(fields[12]))
    return stats


def _descendants(root: int, parents: dict[int, int]) -> set[int]:
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return tree


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def metered(pid: int) -> Iterator[list[Cpu]]:
    """CPU of the proxy tree `pid` and of client subprocesses that finish inside the block."""
    got: list[Cpu] = []
    user, system = tree_cpu(pid)
    client = children_cpu()
    yield got
    user2, system2 = tree_cpu(pid)
    got.append(Cpu(user2 - user, system2 - system, children_cpu() - client))


# -- processes ------------------------------------------------------------------------------------------------


class Nginx:
    """One nginx in the foreground (`-p DIR -c CONF -g 'daemon off;'`), stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, directory: Path, name: str, http_block: str) -> None:
        self.directory = directory / name
        self.directory.mkdir(parents=True)
        (self.directory / "logs").mkdir()
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.conf = self.directory / "nginx.conf"
        self.conf.write_text(
            f"{user}worker_processes 1;\npid {self.directory}/nginx.pid;\nerror_log {self.directory}/error.log warn;\n"
            "events { worker_connections 4096; }\n"
            f"http {{\n  default_type text/plain;\n  keepalive_requests 10000000;\n  keepalive_timeout 120s;\n"
            f"{http_block}\n}}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *ports: int) -> Nginx:
        command = [NGINX, "-p", str(self.directory), "-c", str(self.conf), "-g", "daemon off;"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for port in ports:
            wait_for_port(port, self.process, f"nginx {self.directory.name}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=5)
        self.process = None

    def errors(self) -> list[str]:
        path = self.directory / "error.log"
        return [line for line in path.read_text().splitlines() if "[error]" in line or "[crit]" in line]


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise SystemExit(f"{what} exited with {process.returncode}: {stderr}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise SystemExit(f"{what} is not listening on {port} after {timeout} s")


class Latticework:
    """`latticework server` with its own state dir and API port (as tests/conftest.py ServerProcess)."""

    def __init__(self, directory: Path, quotas: dict[str, int]) -> None:
        self.state_dir = directory / "state"
        self.log_path = directory / "server.log"
        self.port = free_port()
        self.quotas = quotas
        self.process: subprocess.Popen[bytes] | None = None
        self.workers = 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, workers: int = 1) -> Latticework:
        command = [sys.executable, "-m", "latticework", "server", "--state-dir", str(self.state_dir)]
        command += ["--api-port", str(self.port)]
        for name, value in self.quotas.items():
            command += ["--quota", f"{name}={value}"]
        if workers > 1:
            command += ["--workers", str(workers)]
        self.workers = workers
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"latticework server exited with {self.process.returncode}; see {self.log_path}")
            with contextlib.suppress(OSError):
                self.health()
                return self
            time.sleep(0.05)
        raise SystemExit("latticework server did not become healthy in 60 s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=20)
        self.process = None

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}{HEALTH}", timeout=5) as response:
            return dict(json.loads(response.read()))

    def settle(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.health()
            if health["dataPlaneVersion"] >= health["configVersion"]:
                return
            time.sleep(0.02)
        raise SystemExit(f"data plane did not catch up with the config in {timeout} s")

    def ingress_port(self, vpc: str) -> int:
        self.settle()
        return int(json.loads((self.state_dir / "dataplane" / "ingress.json").read_text())[vpc])

    def log_problems(self) -> list[str]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def supports_workers(self) -> bool:
        out = subprocess.run(
            [sys.executable, "-m", "latticework", "server", "--help"], capture_output=True, text=True, check=False
        ).stdout
        return "--workers" in out


class Api:
    """The Lattice REST API over one keep-alive connection (JSON in, JSON out; unsigned requests)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"content-type": "application/json"} if payload is not None else {}
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        decoded = json.loads(raw) if raw else None
        if response.status >= 300:
            raise SystemExit(f"{method} {path} answered {response.status}: {decoded}")
        return decoded

    def close(self) -> None:
        self.connection.close()


# -- the topology -----------------------------------------------------------------------------------------------


def forward(*groups: tuple[str, int]) -> dict[str, Any]:
    return {"forward": {"targetGroups": [{"targetGroupIdentifier": g, "weight": w} for g, w in groups]}}


def fixed(status: int) -> dict[str, Any]:
    return {"fixedResponse": {"statusCode": status}}


# Five rules; the fifth matches the benchmark's requests. The same shape as the nginx locations.
def bench_rules(groups: tuple[str, str]) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    return [
        (10, {"pathMatch": {"match": {"prefix": "/api"}}}, fixed(404)),
        (20, {"headerMatches": [{"name": "x-channel", "match": {"exact": "beta"}}]}, fixed(404)),
        (30, {"method": "POST"}, fixed(404)),
        (40, {"pathMatch": {"match": {"exact": "/admin"}}}, fixed(404)),
        (50, {"pathMatch": {"match": {"prefix": "/bench"}}}, forward((groups[0], 50), (groups[1], 50))),
    ]


@dataclass
class Topology:
    vpc: str
    network: str
    host: str  # the benchmark service's DNS name
    ingress: int
    shift_service: str
    shift_listener: str
    shift_host: str
    shift_groups: tuple[str, str]
    services: int


def build_topology(server: Latticework, backend_ports: tuple[int, int], fillers: int) -> Topology:
    """The benchmark service, the weight-shifting service and `fillers` fixed-response services, all in one
    service network with one VPC; returns once the data plane serves it."""
    api = Api(server.port)
    vpc = create_vpc(server)
    network = api.call("POST", "/servicenetworks", {"name": "bench-net"})["id"]
    api.call("POST", "/servicenetworkvpcassociations", {"serviceNetworkIdentifier": network, "vpcIdentifier": vpc})

    a, b = backend_ports
    groups = (ip_group(api.call, vpc, "bench-a", a), ip_group(api.call, vpc, "bench-b", b))
    service = api.call("POST", "/services", {"name": "bench"})
    for protocol in ("HTTP", "HTTPS"):
        listener = api.call(
            "POST",
            f"/services/{service['id']}/listeners",
            {"name": protocol.lower(), "protocol": protocol, "defaultAction": fixed(404)},
        )["id"]
        for priority, match, action in bench_rules(groups):
            body = {"name": f"r{priority}", "priority": priority, "match": {"httpMatch": match}, "action": action}
            api.call("POST", f"/services/{service['id']}/listeners/{listener}/rules", body)
    associate(api, network, service["id"])
    destination = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:bench"
    api.call("POST", "/accesslogsubscriptions", {"resourceIdentifier": service["id"], "destinationArn": destination})

    shift_groups = (ip_group(api.call, vpc, "shift-a", a), ip_group(api.call, vpc, "shift-b", b))
    shift = api.call("POST", "/services", {"name": "shift"})
    shift_listener = api.call(
        "POST",
        f"/services/{shift['id']}/listeners",
        {"name": "main", "protocol": "HTTP", "defaultAction": forward((shift_groups[0], 100), (shift_groups[1], 0))},
    )["id"]
    associate(api, network, shift["id"])
    api.close()
    add_fillers(server, network, 0, fillers, threads=1)
    return Topology(
        vpc=vpc,
        network=network,
        host=service["dnsEntry"]["domainName"],
        ingress=server.ingress_port(vpc),
        shift_service=shift["id"],
        shift_listener=shift_listener,
        shift_host=shift["dnsEntry"]["domainName"],
        shift_groups=shift_groups,
        services=2 + fillers,
    )


def ip_group(call: Callable[[str, str, dict[str, Any]], Any], vpc: str, name: str, port: int) -> str:
    """An IP target group in `vpc` with one target, 127.0.0.1:`port` (a backend of the benchmarks)."""
    config = {"port": port, "protocol": "HTTP", "vpcIdentifier": vpc}
    group = call("POST", "/targetgroups", {"name": name, "type": "IP", "config": config})["id"]
    call("POST", f"/targetgroups/{group}/registertargets", {"targets": [{"id": "127.0.0.1", "port": port}]})
    return str(group)


def create_vpc(server: Latticework) -> str:
    """EC2 CreateVpc (query protocol, unsigned)."""
    form = "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16"
    request = urllib.request.Request(
        f"{server.url}/", data=form.encode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        found = re.search(rb"<vpcId>(vpc-[0-9a-f]+)</vpcId>", response.read())
    if found is None:
        raise SystemExit("CreateVpc answered without a vpcId")
    return found.group(1).decode()


def associate(api: Api, network: str, service: str) -> None:
    api.call(
        "POST",
        "/servicenetworkserviceassociations",
        {"serviceNetworkIdentifier": network, "serviceIdentifier": service},
    )


def add_fillers(server: Latticework, network: str, start: int, count: int, threads: int) -> None:
    """`count` services, each with an HTTP listener answering 404 and associated with the network."""
    local = threading.local()

    def one(index: int) -> None:
        api = getattr(local, "api", None)
        if api is None:
            api = local.api = Api(server.port)
        filler(api.call, network, index)

    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(one, range(start, start + count)):
            pass


def add_fillers_in_process(server: Latticework, network: str, start: int, count: int) -> None:
    """The same services as `add_fillers`, created while the server is stopped, by the API's own request path
    in this process (`Gateway.handle`: route, validate, operation, store transaction, serialise) on the
    server's state dir: no HTTP, and no data plane recompiling its snapshot after every call."""
    from latticework.config import Settings
    from latticework.control.api.gateway import Gateway, Request
    from latticework.control.backend import Backend
    from latticework.control.store.factory import open_store

    store = open_store(None, server.state_dir)
    gateway = Gateway(Backend(store, Settings(account=ACCOUNT, region=REGION).with_quotas(server.quotas)))

    def call(method: str, path: str, body: dict[str, Any]) -> Any:
        request = Request(method, path, [], {"content-type": "application/json"}, json.dumps(body).encode())
        response = gateway.handle(request)
        if response.status >= 300:
            raise SystemExit(f"{method} {path} answered {response.status}: {response.body[:300]!r}")
        return json.loads(response.body)

    try:
        for index in range(start, start + count):
            filler(call, network, index)
    finally:
        store.close()


def filler(call: Callable[[str, str, dict[str, Any]], Any], network: str, index: int) -> None:
    """One filler: CreateService, CreateListener (HTTP, fixed 404), CreateServiceNetworkServiceAssociation.

    Each listener gets its own name: with one shared name the store's listener-name check scans every
    listener of that name (SQLite picks the (kind, name) index over (kind, parent)): CreateListener took 16 ms
    at 7,000 services. That is a control-plane matter, not what this measures."""
    service = call("POST", "/services", {"name": f"filler-{index}"})["id"]
    listener = {"name": f"main-{index}", "protocol": "HTTP", "defaultAction": fixed(404)}
    call("POST", f"/services/{service}/listeners", listener)
    body = {"serviceNetworkIdentifier": network, "serviceIdentifier": service}
    call("POST", "/servicenetworkserviceassociations", body)


# -- clients --------------------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    rps: float
    requests: int
    non_2xx: int
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]  # "50%", "75%", "90%", "99%" when --latency was given

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str,
    host: str,
    connections: int,
    duration: float,
    latency: bool = False,
    cpus: set[int] | None = None,
    headers: Sequence[str] = (),
) -> WrkResult:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "-H", f"Host: {host}", url]
    for header in headers:
        command[-1:-1] = ["-H", header]
    if latency:
        command.insert(1, "--latency")
    pinned = None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))
    out = subprocess.run(command, capture_output=True, text=True, check=True, preexec_fn=pinned).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True)) if sockets else {}
    )
    percentiles = {
        m.group(1): float(m.group(2)) * _UNITS[m.group(3)]
        for m in re.finditer(r"^\s+(\d+%)\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    }
    return WrkResult(rps, requests, int(non_2xx.group(1)) if non_2xx else 0, socket_errors, percentiles)


@dataclass
class CurlResult:
    rps: float
    requests: int
    statuses: Counter[str]
    connects: int
    bodies: Counter[str]

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))


def curl_https(url: str, count: int, connections: int, *, proxy: int | None = None, resolve: str = "") -> CurlResult:
    """`count` HTTPS GETs with curl --parallel over `connections` keep-alive connections (through the ingress
    as an HTTPS proxy when `proxy` is its port); curl prints each body then `STATUS CONNECTS`."""
    command = ["curl", "-sk", "--http1.1", "--parallel", "--parallel-max", str(connections)]
    command += ["-w", "=%{http_code} %{num_connects}\n"]
    if proxy is not None:
        command += ["--proxy", f"http://127.0.0.1:{proxy}"]
    if resolve:
        command += ["--resolve", resolve]
    command.append(f"{url}&n=[1-{count}]")
    started = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    elapsed = time.perf_counter() - started
    statuses: Counter[str] = Counter()
    bodies: Counter[str] = Counter()
    connects = 0
    for line in out.splitlines():
        if line.startswith("="):  # the -w line; bodies of parallel transfers interleave with these lines
            status, _, made = line[1:].partition(" ")
            statuses[status] += 1
            connects += int(made or 0)
        elif line:
            bodies[line] += 1
    done = sum(statuses.values())
    return CurlResult(done / elapsed, done, statuses, connects, bodies)


# -- the measurements -----------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    ours: str
    peer: str
    ratio: str
    goal: str
    verdict: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, *cells: str) -> None:
        self.rows.append(Row(*cells))
        print("  " + " | ".join(cells), flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  {text}", flush=True)

    def check(self, what: str, errors: int, detail: Any) -> None:
        if errors:
            self.problems.append(f"{what}: {errors} errors: {detail}")
            print(f"  PROBLEM {what}: {errors} errors: {detail}", flush=True)

    def print(self) -> None:
        headers = ("measurement", "latticework", "nginx / baseline", "ratio", "goal", "verdict")
        widths = [
            max(len(h), *(len(getattr(r, f)) for r in self.rows))
            for h, f in zip(headers, Row.__dataclass_fields__, strict=True)
        ]
        print()
        print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        print("-+-".join("-" * w for w in widths))
        for row in sorted(self.rows, key=lambda r: r.name.split(" ")[0].rstrip(".")):  # 1, 1b, 2, ... 4b, 5, 6
            cells = (row.name, row.ours, row.peer, row.ratio, row.goal, row.verdict)
            print(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
        for text in self.notes:
            print(f"note: {text}")
        for text in self.problems:
            print(f"PROBLEM: {text}")


def verdict(value: float, goal: float, higher_is_better: bool = True, stretch: float | None = None) -> str:
    met = value >= goal if higher_is_better else value <= goal
    if not met:
        gap = (goal - value) / goal if higher_is_better else (value - goal) / goal
        return f"NOT MET (by {gap:.0%})"
    if stretch is not None and value >= stretch:
        return "met (stretch met)"
    return "met" + ("" if stretch is None else " (stretch not met)")


@dataclass
class Setup:
    args: argparse.Namespace
    tmp: Path
    backend_ports: tuple[int, int]
    nginx_http: int
    nginx_https: int
    server: Latticework
    topology: Topology
    report: Report
    nginx_pid: int
    backend_pid: int
    floor_port: int = 0  # bench/_floor_proxy.py, the featureless Python relay (0: not running)
    floor_pid: int = 0

    @property
    def lw_url(self) -> str:
        return f"http://127.0.0.1:{self.topology.ingress}{BENCH_PATH}"

    @property
    def nginx_url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_http}{BENCH_PATH}"

    @property
    def floor_url(self) -> str:
        return f"http://127.0.0.1:{self.floor_port}{BENCH_PATH}"


def measure_http(s: Setup) -> float:
    """1. req/s through each proxy, alternating rounds; returns our best (of the pinned layout when there is
    one). Two layouts: pinned as in reference section 4.3 (the proxy under test alone on CPU 0, wrk and the
    backend on the others), and everything on every core (then the proxies compete with wrk and the backend)."""
    everything = set(range(os.cpu_count() or 1))
    layouts: list[tuple[str, set[int] | None]] = [("all cores shared", None)]
    if len(everything) >= 2 and not s.args.no_pin:
        layouts.insert(0, ("proxy alone on CPU 0", everything - {0}))
    ours = 0.0
    for number, (layout, others) in enumerate(layouts):
        rps = _measure_http_layout(s, layout, others, "1" if number == 0 else "1u")
        ours = ours or rps
    return ours


def _measure_http_layout(s: Setup, layout: str, others: set[int] | None, label: str) -> float:
    a = s.args
    best: dict[str, tuple[WrkResult, Cpu]] = {}
    print(f"  layout: {layout}", flush=True)
    contenders = [("nginx", s.nginx_url, s.nginx_pid), ("latticework", s.lw_url, s.server.pid)]
    if s.floor_pid:
        contenders.insert(1, ("floor", s.floor_url, s.floor_pid))
    with _pinned(s, others):
        for _ in range(a.rounds):
            for name, url, pid in contenders:
                with metered(pid) as cpu:
                    result = wrk(url, s.topology.host, a.connections, a.duration, cpus=others)
                s.report.check(f"HTTP wrk through {name}", result.errors, result)
                print(f"  {name}: {result.rps:.0f} req/s; {cpu[0].per_request(result.requests)}", flush=True)
                if name not in best or result.rps > best[name][0].rps:
                    best[name] = (result, cpu[0])
    (ours, our_cpu), (peer, peer_cpu) = best["latticework"], best["nginx"]
    s.report.add(
        f"{label}. HTTP req/s, {layout} (wrk -t1 -c{a.connections} -d{a.duration:g}s, best of {a.rounds})",
        f"{ours.rps:.0f}",
        f"{peer.rps:.0f}",
        f"{ours.rps / peer.rps:.2f}",
        f">= {GOAL_HTTP} (stretch {STRETCH_HTTP})",
        verdict(ours.rps / peer.rps, GOAL_HTTP, stretch=STRETCH_HTTP),
    )
    cpu_row(
        s,
        f"{label}b. HTTP proxy CPU per request (same runs)",
        our_cpu.total_us(ours.requests),
        peer_cpu.total_us(peer.requests),
    )
    if "floor" in best:
        floor, floor_cpu = best["floor"]
        s.report.add(
            f"{label}f. the floor (bench/_floor_proxy.py: Python, no features) req/s, CPU per request",
            f"{floor.rps:.0f}, {floor_cpu.total_us(floor.requests):.0f} us",
            f"{peer.rps:.0f}",
            f"{floor.rps / peer.rps:.2f}",
            "(info)",
            "-",
        )
    return ours.rps


@contextlib.contextmanager
def _pinned(s: Setup, others: set[int] | None) -> Iterator[None]:
    """Both proxies on CPU 0 and the backend on `others` for the block (nothing moves when `others` is None)."""
    if others is None:
        yield
        return
    everything = set(range(os.cpu_count() or 1))
    proxies = (s.nginx_pid, s.server.pid, *([s.floor_pid] if s.floor_pid else []))
    for pid in proxies:
        pin(pid, {0})
    pin(s.backend_pid, others)
    try:
        yield
    finally:
        for pid in (*proxies, s.backend_pid):
            pin(pid, everything)


def cpu_row(s: Setup, name: str, ours_us: float, peer_us: float) -> None:
    """CPU per request is what the machine being shared does not blur: ratio = nginx's / ours."""
    s.report.add(name, f"{ours_us:.0f} us", f"{peer_us:.0f} us", f"{peer_us / ours_us:.2f}", "(info)", "-")


def measure_https(s: Setup) -> None:
    """2. HTTPS: curl --parallel through CONNECT + TLS vs nginx's TLS listener (same client for both)."""
    a, t = s.args, s.topology
    best: dict[str, tuple[CurlResult, Cpu]] = {}
    for _ in range(a.rounds):
        for name in ("nginx", "latticework"):
            if name == "nginx":
                url = f"https://{t.host}:{s.nginx_https}{BENCH_PATH}"
                with metered(s.nginx_pid) as cpu:
                    result = curl_https(
                        url, a.https_requests, a.connections, resolve=f"{t.host}:{s.nginx_https}:127.0.0.1"
                    )
            else:
                with metered(s.server.pid) as cpu:
                    result = curl_https(
                        f"https://{t.host}{BENCH_PATH}", a.https_requests, a.connections, proxy=t.ingress
                    )
            s.report.check(f"HTTPS curl through {name}", result.errors, dict(result.statuses))
            missing = a.https_requests - result.requests
            s.report.check(f"HTTPS curl through {name}", missing, "transfers without a status line")
            print(
                f"  {name}: {result.rps:.0f} req/s ({result.connects} connections, bodies {dict(result.bodies)}); "
                f"{cpu[0].per_request(result.requests)}",
                flush=True,
            )
            if name not in best or result.rps > best[name][0].rps:
                best[name] = (result, cpu[0])
    (ours, our_cpu), (peer, peer_cpu) = best["latticework"], best["nginx"]
    s.report.add(
        f"2. HTTPS req/s (curl --parallel-max {a.connections}, {a.https_requests} req, best of {a.rounds})",
        f"{ours.rps:.0f}",
        f"{peer.rps:.0f}",
        f"{ours.rps / peer.rps:.2f}",
        f">= {GOAL_HTTPS}",
        verdict(ours.rps / peer.rps, GOAL_HTTPS),
    )
    cpu_row(
        s,
        "2b. HTTPS proxy CPU per request (same runs)",
        our_cpu.total_us(ours.requests),
        peer_cpu.total_us(peer.requests),
    )
    with metered(s.nginx_pid) as cpu:
        direct = wrk(f"https://127.0.0.1:{s.nginx_https}{BENCH_PATH}", t.host, a.connections, a.duration)
    s.report.check("HTTPS wrk through nginx", direct.errors, direct)
    s.report.note(
        f"curl is the HTTPS client because wrk cannot send CONNECT; curl itself limits nginx's figure: wrk straight "
        f"to nginx's TLS port gives {direct.rps:.0f} req/s ({cpu[0].per_request(direct.requests)}), "
        f"so the 2. ratio against that would be {ours.rps / direct.rps:.2f}"
    )


def measure_latency(s: Setup) -> None:
    """3. p50 at concurrency 1: backend direct, nginx, latticework."""
    a, t = s.args, s.topology
    direct_url = f"http://127.0.0.1:{s.backend_ports[0]}{BENCH_PATH}"
    p50: dict[str, list[float]] = {"direct": [], "nginx": [], "latticework": []}
    for _ in range(a.rounds):
        for name, url in (("direct", direct_url), ("nginx", s.nginx_url), ("latticework", s.lw_url)):
            result = wrk(url, t.host, 1, a.latency_duration, latency=True)
            s.report.check(f"latency wrk {name}", result.errors, result)
            p50[name].append(result.latency_ms["50%"])
    best = {name: min(values) for name, values in p50.items()}
    ours, peer = best["latticework"] - best["direct"], best["nginx"] - best["direct"]
    print(f"  p50 ms (best of {a.rounds}): " + ", ".join(f"{k} {v:.3f}" for k, v in best.items()), flush=True)
    s.report.add(
        f"3. added p50 latency, c=1 (backend direct p50 {best['direct']:.3f} ms)",
        f"+{ours:.3f} ms",
        f"+{peer:.3f} ms",
        f"{ours - peer:+.3f} ms vs nginx",
        f"<= +{GOAL_ADDED_P50_MS} ms vs nginx",
        verdict(ours - peer, GOAL_ADDED_P50_MS, higher_is_better=False),
    )


def measure_live(s: Setup, changes: int, label: str) -> None:
    """4. UpdateListener -> live in the data plane (health version and traffic), `changes` times; also how
    long the call itself took and the slowest request seen while polling (a recompile stalls the loop)."""
    t = s.topology
    slowest = [0.0]
    api = Api(s.server.port)
    health = http.client.HTTPConnection("127.0.0.1", s.server.port, timeout=10)
    traffic = http.client.HTTPConnection("127.0.0.1", t.ingress, timeout=10)

    def served() -> str:
        sent = time.perf_counter()
        traffic.request("GET", "/shift", headers={"Host": t.shift_host})
        response = traffic.getresponse()
        body = response.read().decode().strip()
        slowest[0] = max(slowest[0], time.perf_counter() - sent)
        if response.status != 200:
            raise SystemExit(f"shift service answered {response.status}: {body}")
        return body

    def version() -> tuple[int, int]:
        health.request("GET", HEALTH)
        doc = json.loads(health.getresponse().read())
        return int(doc["dataPlaneVersion"]), int(doc["configVersion"])

    to_version: list[float] = []
    to_traffic: list[float] = []
    call_ms: list[float] = []
    path = f"/services/{t.shift_service}/listeners/{t.shift_listener}"
    current = served()
    for change in range(changes):
        weights = (0, 100) if current == "a" else (100, 0)
        expected = current = "b" if weights[1] else "a"
        called = time.perf_counter()
        api.call("PATCH", path, {"defaultAction": forward(*zip(t.shift_groups, weights, strict=True))})
        returned = time.perf_counter()
        call_ms.append((returned - called) * 1000)
        version_at = traffic_at = None
        while version_at is None or traffic_at is None:
            if version_at is None:
                live, config = version()
                if live >= config:
                    version_at = time.perf_counter() - returned
            if traffic_at is None and served() == expected:
                traffic_at = time.perf_counter() - returned
            if time.perf_counter() - returned > 10:
                raise SystemExit(f"change {change} not live after 10 s")
        to_version.append(version_at * 1000)
        to_traffic.append(traffic_at * 1000)
        time.sleep(0.01)
    api.close()
    named = (("health dataPlaneVersion", to_version), ("traffic", to_traffic), ("the UpdateListener call", call_ms))
    for name, values in named:
        print(f"  {name}: p50 {pct(values, 50):.1f} ms, p99 {pct(values, 99):.1f} ms, max {max(values):.1f} ms")
    print(f"  slowest single request through the ingress while polling: {slowest[0] * 1000:.1f} ms")
    p99 = max(pct(to_version, 99), pct(to_traffic, 99))
    s.report.add(
        f"{label}. UpdateListener -> live, p99 of {changes} (health / traffic)",
        f"{pct(to_version, 99):.1f} / {pct(to_traffic, 99):.1f} ms",
        "-",
        "-",
        f"< {GOAL_LIVE_P99_MS:g} ms",
        verdict(p99, GOAL_LIVE_P99_MS, higher_is_better=False),
    )


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def measure_workers(s: Setup) -> None:
    """6. `--workers 2` against 1 worker, each measured just before/after a restart on the same state dir."""
    if not s.server.supports_workers():
        s.report.add("6. 2 workers vs 1", "not measured: --workers not available", "-", "-", "-", "-")
        return
    one, _ = our_throughput(s, "1 worker")
    s.server.stop()
    s.server.start(workers=2)
    s.server.settle()
    warm_up(s, 64)
    time.sleep(2)  # the extra worker follows the store on its own
    warm_up(s, 64)
    two, _ = our_throughput(s, "--workers 2")
    s.report.add(
        "6. HTTP req/s, --workers 2 vs 1 (2 cores shared with wrk and the backend)",
        f"{two.rps:.0f}",
        f"{one.rps:.0f} (1 worker)",
        f"{two.rps / one.rps:.2f}",
        "-",
        "-",
    )
    s.server.stop()
    s.server.start(workers=1)
    s.server.settle()


def warm_up(s: Setup, connections: int) -> None:
    """New connections to the ingress each answering 200 (with SO_REUSEPORT they land on different workers)."""
    failures: list[str] = []
    for _ in range(connections):
        conn = http.client.HTTPConnection("127.0.0.1", s.topology.ingress, timeout=10)
        try:
            conn.request("GET", BENCH_PATH, headers={"Host": s.topology.host})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                failures.append(f"{response.status} {body[:80]!r}")
        except OSError as error:
            failures.append(repr(error))
        finally:
            conn.close()
    s.report.check("warm-up requests", len(failures), Counter(failures).most_common(3))


@contextlib.contextmanager
def server_alone(s: Setup) -> Iterator[set[int] | None]:
    """The server on CPU 0 and the backend on the other CPUs for the block; yields the CPUs for wrk (None on
    a single-CPU machine, where nothing is moved). Other processes on the machine are not moved."""
    everything = set(range(os.cpu_count() or 1))
    if len(everything) < 2:
        yield None
        return
    pin(s.server.pid, {0})
    pin(s.backend_pid, everything - {0})
    try:
        yield everything - {0}
    finally:
        pin(s.server.pid, everything)
        pin(s.backend_pid, everything)


def our_throughput(s: Setup, label: str, cpus: set[int] | None = None) -> tuple[WrkResult, Cpu]:
    """The best of `rounds` wrk runs through Latticework alone, with its CPU per request."""
    best: tuple[WrkResult, Cpu] | None = None
    for _ in range(s.args.rounds):
        with metered(s.server.pid) as cpu:
            result = wrk(s.lw_url, s.topology.host, s.args.connections, s.args.duration, cpus=cpus)
        s.report.check(f"HTTP wrk through latticework, {label}", result.errors, result)
        print(f"  {label}: {result.rps:.0f} req/s; {cpu[0].per_request(result.requests)}", flush=True)
        if best is None or result.rps > best[0].rps:
            best = (result, cpu[0])
    assert best is not None
    return best


def measure_scale(s: Setup) -> None:
    """5. Up to `services` services, then HTTP req/s again against the 10-service figure measured just
    before, both from a freshly started server alone on CPU 0 (this compares us with ourselves; the machine is
    shared, and unpinned runs vary by 15% from one to the next)."""
    a, t = s.args, s.topology
    s.server.stop()  # both figures from a freshly started server: the 10,000 one has to restart
    s.server.start()
    s.server.settle()
    warm_up(s, 8)
    with server_alone(s) as cpus:
        ten, ten_cpu = our_throughput(s, f"{t.services} services", cpus)
    ten_rss = s.server.rss_mib()
    extra = a.services - t.services
    calls = 3 * extra
    started = time.perf_counter()
    if a.scale_via == "http":
        add_fillers(s.server, t.network, t.services, extra, threads=a.api_threads)
        created = time.perf_counter() - started
        s.server.settle(timeout=3600)
        how = f"over HTTP ({a.api_threads} threads) with the data plane following"
    else:
        s.server.stop()
        add_fillers_in_process(s.server, t.network, t.services, extra)
        created = time.perf_counter() - started
        s.server.start()
        s.server.settle(timeout=600)
        how = "in process through the API's request path (Gateway.handle) with the server stopped, then restarted"
    live = time.perf_counter() - started - created
    s.report.note(
        f"created {extra} services ({calls} API calls) {how} in {created:.1f} s ({calls / created:.0f} calls/s); "
        f"data plane live {live:.1f} s later"
    )
    warm_up(s, 8)
    with server_alone(s) as cpus:
        many, many_cpu = our_throughput(s, f"{a.services} services", cpus)
    s.report.note(
        f"server resident memory: {ten_rss:.0f} MiB with {t.services} services, "
        f"{s.server.rss_mib():.0f} MiB with {a.services}"
    )
    s.report.add(
        f"5. HTTP req/s with {a.services} services vs {t.services} (server alone on CPU 0)",
        f"{many.rps:.0f}",
        f"{ten.rps:.0f} ({t.services} services)",
        f"{many.rps / ten.rps:.2f}",
        f">= {GOAL_SCALE}",
        verdict(many.rps / ten.rps, GOAL_SCALE),
    )
    ours_us, before_us = many_cpu.total_us(many.requests), ten_cpu.total_us(ten.requests)
    s.report.add(
        f"5b. CPU per request with {a.services} vs {t.services} services",
        f"{ours_us:.0f} us",
        f"{before_us:.0f} us",
        f"{before_us / ours_us:.2f}",
        "(info)",
        "-",
    )


def profile(s: Setup, py_spy: str, label: str) -> None:
    """py-spy samples the server (its main thread: API + data plane) under wrk load; top self and total.

    py-spy samples wall-clock stacks of a thread that is not idle, so a process that is runnable but preempted
    (the 2 cores shared by wrk, the backend and the server) is seen wherever the scheduler stopped it, most
    often in the write that woke wrk or the backend. So the server gets CPU 0 alone while sampled, and wrk and
    the backend CPU 1 (other processes on the machine are not moved)."""
    raw = s.tmp / f"profile-{label.replace(' ', '-')}.txt"
    with server_alone(s) as cpus:
        spy = subprocess.Popen(
            [py_spy, "record", "--pid", str(s.server.pid), "--duration", str(int(s.args.duration) + 1),
             "--rate", "250", "--format", "raw", "--output", str(raw), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(0.5)
        with metered(s.server.pid) as cpu:
            result = wrk(s.lw_url, s.topology.host, s.args.connections, s.args.duration, cpus=cpus)
        spy.wait(timeout=60)
    alone = cpus is not None
    if not raw.exists():
        err = spy.stderr.read().decode() if spy.stderr else ""
        s.report.note(f"py-spy produced no profile: {err.strip()[:200]}")
        return
    own, total, samples = read_collapsed(raw)
    print(
        f"\nprofile ({label}): py-spy, {samples} samples of the server under wrk ({result.rps:.0f} req/s while "
        f"sampled, {'server alone on CPU 0; ' if alone else ''}{cpu[0].per_request(result.requests)})"
    )
    print("  top self (where the time is spent):")
    for name, hits in own.most_common(s.args.profile_top):
        print(f"    {hits / samples:6.1%}  {name}")
    print("  top inclusive (by function, below the server's start-up frames):")
    ours = [(name, hits) for name, hits in total.most_common() if not any(m in name for m in _STARTUP_FRAMES)]
    for name, hits in ours[: s.args.profile_top]:
        print(f"    {hits / samples:6.1%}  {name}")
    if s.args.profile_out:
        s.args.profile_out.mkdir(parents=True, exist_ok=True)
        shutil.copy(raw, s.args.profile_out / raw.name)
        print(f"  collapsed stacks saved to {s.args.profile_out / raw.name}")


def read_collapsed(path: Path) -> tuple[Counter[str], Counter[str], int]:
    """py-spy's raw (collapsed) stacks -> samples by leaf line (self), by function anywhere on the stack
    (inclusive), and the sample count."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        frames = [f for f in stack.split(";") if f]
        if not frames or not number.isdigit():
            continue
        hits = int(number)
        samples += hits
        own[_frame(frames[-1])] += hits
        for name in {_frame(f, line=False) for f in frames}:
            total[name] += hits
    return own, total, samples


_STARTUP_FRAMES = (
    "<frozen runpy>",
    "typer/",
    "uvicorn/",
    "latticework/cli/",
    "latticework/control/server.py",
    "latticework/__main__.py",
    "asyncio/runners.py",
)


def _frame(frame: str, line: bool = True) -> str:
    """`function (path/to/file.py:123)` -> `function (file.py:123)` with the package path kept short."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path, _, number = where.rpartition(":")
    for marker in ("/latticework/", "/site-packages/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1] if marker != "/latticework/" else "latticework/" + path.split(marker, 1)[1]
            break
    return f"{name} ({path}:{number})" if line else f"{name} ({path})"


# -- main -----------------------------------------------------------------------------------------------------


def nginx_backend_block(ports: tuple[int, int]) -> str:
    return (
        "  access_log off;\n"
        f'  server {{ listen 127.0.0.1:{ports[0]} backlog=4096; location / {{ return 200 "a\\n"; }} }}\n'
        f'  server {{ listen 127.0.0.1:{ports[1]} backlog=4096; location / {{ return 200 "b\\n"; }} }}\n'
    )


def nginx_proxy_block(backends: tuple[int, int], http_port: int, https_port: int, cert: Any, host: str) -> str:
    """Five prefix locations (the fifth proxies), a 50/50 split over two keep-alive upstreams, access log on."""
    return f"""
  access_log logs/access.log combined;
  upstream tg_a {{ server 127.0.0.1:{backends[0]}; keepalive 64; }}
  upstream tg_b {{ server 127.0.0.1:{backends[1]}; keepalive 64; }}
  split_clients "${{request_id}}" $target_group {{ 50% tg_a; * tg_b; }}
  server {{
    listen 127.0.0.1:{http_port} backlog=4096;
    listen 127.0.0.1:{https_port} ssl backlog=4096;
    server_name {host};
    ssl_certificate {cert.certificate_path};
    ssl_certificate_key {cert.private_key_path};
    location /api {{ return 404; }}
    location /channel {{ return 404; }}
    location /post {{ return 404; }}
    location = /admin {{ return 404; }}
    location /bench {{
      proxy_pass http://$target_group;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-Id $request_id;
    }}
    location / {{ return 404; }}
  }}
"""


@contextlib.contextmanager
def running(args: argparse.Namespace) -> Iterator[Setup]:
    with tempfile.TemporaryDirectory(prefix="latticework-dpbench-") as name:
        tmp = Path(name)
        stops: list[Callable[[], None]] = []
        try:
            backend_ports = (free_port(), free_port())
            backend = Nginx(tmp, "backend", nginx_backend_block(backend_ports))
            stops.append(backend.stop)
            backend.start(*backend_ports)
            quotas = {
                "services_per_region": args.services + 10,
                "service_associations_per_service_network": args.services + 10,
            }
            server = Latticework(tmp, quotas).start()
            stops.append(server.stop)
            topology = build_topology(server, backend_ports, fillers=8)
            from latticework.pki.ca import LocalCA

            cert = LocalCA(server.state_dir / "pki").certificate_for_service_name(topology.host)
            http_port, https_port = free_port(), free_port()
            proxy = Nginx(tmp, "proxy", nginx_proxy_block(backend_ports, http_port, https_port, cert, topology.host))
            stops.append(proxy.stop)
            proxy.start(http_port, https_port)
            assert proxy.process is not None and backend.process is not None
            floor_port = free_port()
            floor = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).with_name("_floor_proxy.py")),
                    str(floor_port),
                    str(backend_ports[0]),
                ],
                stderr=subprocess.PIPE,
            )
            stops.append(lambda: stop_process(floor, 5))
            wait_for_port(floor_port, floor, "bench/_floor_proxy.py")
            setup = Setup(
                args,
                tmp,
                backend_ports,
                http_port,
                https_port,
                server,
                topology,
                Report(),
                proxy.process.pid,
                backend.process.pid,
                floor_port,
                floor.pid,
            )
            yield setup
            for what, lines in (("backend nginx", backend.errors()), ("proxy nginx", proxy.errors())):
                if lines:
                    setup.report.problems.append(f"{what} error log: {len(lines)} lines, first: {lines[0]}")
            problems = server.log_problems()
            if problems:
                setup.report.problems.append(
                    f"latticework server log: {len(problems)} error lines, first: {problems[0]}"
                )
        finally:
            for stop in reversed(stops):
                stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk throughput run (default 5)")
    parser.add_argument("--latency-duration", type=float, default=2, help="seconds per c=1 latency run (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="client connections (default 32)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per comparison (default 2)")
    parser.add_argument("--https-requests", type=int, default=10000, help="curl requests per HTTPS run")
    parser.add_argument("--changes", type=int, default=50, help="UpdateListener changes timed (default 50)")
    parser.add_argument("--scale-changes", type=int, default=10, help="changes timed with all services (10)")
    parser.add_argument("--services", type=int, default=10000, help="services for the scale run (default 10000)")
    parser.add_argument(
        "--scale-via",
        choices=["process", "http"],
        default="process",
        help="create the scale run's services in process with the server stopped (default), or over HTTP with "
        "the data plane recompiling after every call (slow: minutes for thousands)",
    )
    parser.add_argument("--api-threads", type=int, default=4, help="threads creating services over HTTP (default 4)")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy under load")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy executable (default: on PATH)")
    parser.add_argument("--profile-top", type=int, default=20, help="functions listed per profile table")
    parser.add_argument("--profile-out", type=Path, help="a directory to keep py-spy's collapsed stacks in")
    parser.add_argument(
        "--no-pin", action="store_true", help="measure HTTP req/s only with every process on every core"
    )
    parser.add_argument("--skip", action="append", default=[], choices=["https", "latency", "live", "workers", "scale"])
    args = parser.parse_args()
    for tool in (NGINX, "wrk", "curl"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (scripts/bench installs nginx and wrk)")
    if args.profile and not args.py_spy:
        raise SystemExit("--profile needs py-spy (pip install py-spy, or --py-spy PATH)")
    began = time.perf_counter()
    # SIGTERM (timeout, CI) unwinds like Ctrl-C, so the servers and nginx this run started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with running(args) as s:
        print(
            f"latticework data plane vs nginx {nginx_version()}: 1 worker each, HTTP/1.1 keep-alive, 2-byte bodies, "
            f"backend nginx on 127.0.0.1:{s.backend_ports[0]},{s.backend_ports[1]}, {os.cpu_count()} cores shared",
            flush=True,
        )
        warm_up(s, 8)
        wrk(s.lw_url, s.topology.host, s.args.connections, 1)
        wrk(s.nginx_url, s.topology.host, s.args.connections, 1)
        print("1. HTTP", flush=True)
        measure_http(s)
        if "https" not in args.skip:
            print("2. HTTPS", flush=True)
            measure_https(s)
        if "latency" not in args.skip:
            print("3. latency at c=1", flush=True)
            measure_latency(s)
        if "live" not in args.skip:
            print("4. API change to live", flush=True)
            measure_live(s, args.changes, "4")
        if args.profile:
            profile(s, args.py_spy, f"{s.topology.services} services")
        if "workers" not in args.skip:
            print("6. workers", flush=True)
            measure_workers(s)
        if "scale" not in args.skip:
            print(f"5. {args.services} services", flush=True)
            measure_scale(s)
            if args.profile:
                profile(s, args.py_spy, f"{args.services} services")
            if "live" not in args.skip:
                print(f"4b. API change to live with {args.services} services", flush=True)
                measure_live(s, args.scale_changes, f"4b ({args.services} services)")
    s.report.print()
    print(f"total time {time.perf_counter() - began:.0f} s")


def nginx_version() -> str:
    out = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=False).stderr
    return out.strip().rpartition("/")[2]


if __name__ == "__main__":
    main()
