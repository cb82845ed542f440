"""Function runtime benchmark: warm invoke overhead against calling the handler in-process (same run), and
cold start. Prints LocalStack's published figures beside ours, labelled as published, not measured.

    .venv/bin/python bench/functions.py [--invokes 2000] [--colds 20]

Measures four paths: the handler called in this process; the supervisor's `invoke` (what a LAMBDA target
group calls: pipe round trip to a warm worker, START/END/REPORT logging, concurrency slot); the Lambda API
Invoke over HTTP on a real `latticework server` (keep-alive connection); and a request through the data plane
on the same server (VPC ingress -> relay -> V1 event -> function -> response mapped back, keep-alive client
connection), whose p50 minus the in-process p50 is the LAMBDA target overhead the issue sets a goal for.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from latticework.compute.functions.model import FUNCTION_KIND
from latticework.compute.functions.supervisor import FunctionSupervisor
from latticework.control.store import Record
from latticework.control.store.sqlite import SqliteStore

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
ARN = "arn:aws:lambda:us-west-2:000000000000:function:bench"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_process(n: int) -> list[float]:
    namespace: dict[str, object] = {}
    exec(HANDLER, namespace)
    handler = namespace["handler"]
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        json.dumps(handler(json.loads(b"{}"), None))  # type: ignore[operator]
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def store_with_function(code: Path, revision: str) -> SqliteStore:
    store = SqliteStore(":memory:")
    doc = {"FunctionName": "bench", "FunctionArn": ARN, "Handler": "app.handler", "Runtime": "python3.11"}
    doc |= {"_codeDir": str(code), "Timeout": 3, "MemorySize": 128, "RevisionId": revision}
    doc["Runtime"] = f"python{sys.version_info.major}.{sys.version_info.minor}"
    with store.transaction() as tx:
        tx.put(Record(FUNCTION_KIND, "000000000000", "us-west-2", "bench", ARN, doc, "bench"))
    return store


async def supervisor_path(work: Path, invokes: int, colds: int) -> tuple[list[float], list[float]]:
    warm, cold = [], []
    for i in range(colds):
        supervisor = FunctionSupervisor(work / "state", store_with_function(work / "code", f"r{i}"))
        t = time.perf_counter()
        await supervisor.invoke(ARN, b"{}")
        cold.append((time.perf_counter() - t) * 1000)
        if i == colds - 1:
            for _ in range(invokes):
                t = time.perf_counter()
                await supervisor.invoke(ARN, b"{}")
                warm.append((time.perf_counter() - t) * 1000)
        await supervisor.stop()
    return warm, cold


def api_path(work: Path, invokes: int) -> tuple[list[float], list[float]]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "latticework", "server", "--state-dir", str(work / "api"), "--api-port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(port)
        import base64
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", HANDLER)
        create = {"FunctionName": "bench", "Runtime": f"python{sys.version_info.major}.{sys.version_info.minor}"}
        create |= {"Role": "arn:aws:iam::000000000000:role/r", "Handler": "app.handler"}
        create["Code"] = {"ZipFile": base64.b64encode(buffer.getvalue()).decode()}
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("POST", "/2015-03-31/functions", json.dumps(create))
        connection.getresponse().read()
        samples = []
        for _ in range(invokes):
            t = time.perf_counter()
            connection.request("POST", "/2015-03-31/functions/bench/invocations", b"{}")
            connection.getresponse().read()
            samples.append((time.perf_counter() - t) * 1000)
        return samples, dataplane_path(work / "api", port, invokes)
    finally:
        server.terminate()
        server.wait()


def dataplane_path(state_dir: Path, port: int, invokes: int) -> list[float]:
    """A service forwarding to a LAMBDA group with the bench function, called through a VPC's ingress."""
    import boto3

    def client(name: str) -> Any:
        return boto3.client(
            name,
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-west-2",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    lattice, ec2 = client("vpc-lattice"), client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    network = lattice.create_service_network(name="bench")["id"]
    lattice.create_service_network_vpc_association(serviceNetworkIdentifier=network, vpcIdentifier=vpc)
    group = lattice.create_target_group(name="bench-fn", type="LAMBDA")["id"]
    lattice.register_targets(targetGroupIdentifier=group, targets=[{"id": ARN}])
    service = lattice.create_service(name="bench")
    forward = {"forward": {"targetGroups": [{"targetGroupIdentifier": group, "weight": 100}]}}
    lattice.create_listener(serviceIdentifier=service["id"], name="http", protocol="HTTP", defaultAction=forward)
    association = {"serviceNetworkIdentifier": network, "serviceIdentifier": service["id"]}
    lattice.create_service_network_service_association(**association)
    url = f"http://{service['dnsEntry']['domainName']}/orders"
    connection = http.client.HTTPConnection("127.0.0.1", _ingress_port(state_dir, vpc))
    for _ in range(200):  # until the data plane serves the new config, then warm
        connection.request("GET", url)
        if connection.getresponse().read() == b"ok":
            break
        time.sleep(0.05)
    samples = []
    for _ in range(invokes):
        t = time.perf_counter()
        connection.request("GET", url)
        connection.getresponse().read()
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def _ingress_port(state_dir: Path, vpc: str) -> int:
    for _ in range(200):
        try:
            return int(json.loads((state_dir / "dataplane" / "ingress.json").read_text())[vpc])
        except (FileNotFoundError, KeyError, ValueError):
            time.sleep(0.05)
    raise RuntimeError("no ingress for the VPC")


def _wait_healthy(port: int) -> None:
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_latticework/health", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def row(label: str, samples: list[float]) -> None:
    print(f"{label:44} {statistics.median(samples):9.4f} {percentile(samples, 0.99):9.4f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invokes", type=int, default=2000)
    parser.add_argument("--colds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        (work / "code").mkdir()
        (work / "code" / "app.py").write_text(HANDLER)
        base = in_process(args.invokes)
        warm, cold = asyncio.run(supervisor_path(work, args.invokes, args.colds))
        api, dataplane = api_path(work, args.invokes)
    base_p50 = statistics.median(base)
    print(f"{'path':44} {'p50 ms':>9} {'p99 ms':>9}")
    row("handler called in-process", base)
    row("supervisor.invoke, warm (LAMBDA target path)", warm)
    row("Lambda API Invoke over HTTP, warm", api)
    row("through the data plane (ingress->fn->client)", dataplane)
    row("cold start (spawn + import + first invoke)", cold)
    print()
    print(
        f"warm overhead p50 vs in-process: {statistics.median(warm) - base_p50:.4f} ms (target < 1 ms, stretch 0.3 ms)"
    )
    print(
        f"LAMBDA target overhead p50 vs in-process: {statistics.median(dataplane) - base_p50:.4f} ms "
        "(ingress -> relay -> function -> back, client included; target < 1 ms, stretch 0.3 ms)"
    )
    print(f"cold start p50: {statistics.median(cold):.1f} ms (target < 100 ms, stretch 50 ms)")
    print()
    print("published, not measured (reference peers-and-performance 4.2):")
    print("  LocalStack >= 2.0 (Docker, reuse): warm ~10 ms (Python echo); cold ~600 ms; Linux cold 0.70/0.76/0.87 s")
    print("  SAM CLI: ~1 s per request (no warm containers)")


if __name__ == "__main__":
    main()
