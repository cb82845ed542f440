"""Faults and limits of the function runtime, through the real API: timeouts, os._exit, memory leaks, and
1,000 concurrent invokes against reserved concurrency 10. After each fault the function keeps serving."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from functions_kit import FAULTS


def invoke(client: Any, name: str, event: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(event))
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def test_timeout_is_reported_and_the_worker_replaced(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function(FAULTS, Timeout=1)
    _, first = invoke(lambda_client, name, {})
    error, payload = invoke(lambda_client, name, {"action": "sleep", "seconds": 5})
    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
    error, after = invoke(lambda_client, name, {})
    assert error is None and after["ok"] is True
    assert after["pid"] != first["pid"]  # the hung worker was killed, a fresh one serves


def test_os_exit_is_a_runtime_exit_error(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function(FAULTS)
    error, payload = invoke(lambda_client, name, {"action": "exit", "status": 3})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")
    assert invoke(lambda_client, name, {})[1]["ok"] is True


def test_memory_leak_is_out_of_memory(lambda_client: Any, make_function: Callable[..., str], server: Any) -> None:
    name = make_function(FAULTS, MemorySize=128)
    error, payload = invoke(lambda_client, name, {"action": "leak"})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.OutOfMemory"
    assert payload["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert invoke(lambda_client, name, {})[1]["ok"] is True
    log = (server.state_dir / "logs" / "functions" / f"{name}.log").read_text()
    assert "Memory Size: 128 MB\tMax Memory Used: 128 MB" in log


def test_handler_exception_keeps_the_worker(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function(FAULTS)
    pid = invoke(lambda_client, name, {})[1]["pid"]
    error, payload = invoke(lambda_client, name, {"action": "raise"})
    assert (error, payload["errorType"], payload["errorMessage"]) == ("Unhandled", "ValueError", "boom")
    assert invoke(lambda_client, name, {})[1]["pid"] == pid


RECORDER = """
import os
import time

def handler(event, context):
    started = time.time()
    time.sleep(0.2)
    line = f"{context.aws_request_id} {event['n']} {started} {time.time()}\\n"
    fd = os.open(os.environ["RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, line.encode())
    os.close(fd)
    return event["n"]
"""


async def _post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2]


@pytest.mark.slow
def test_1000_concurrent_invokes_against_reserved_10(
    lambda_client: Any, make_function: Callable[..., str], server: Any, tmp_path: Path
) -> None:
    """At most 10 run at once, the rest are throttled with 429, none is lost or run twice."""
    record = tmp_path / "runs.txt"
    name = make_function(RECORDER, Environment={"Variables": {"RECORD": str(record)}}, Timeout=30)
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=10)
    path = f"/2015-03-31/functions/{name}/invocations"

    async def burst() -> list[tuple[int, bytes]]:
        return await asyncio.gather(*(_post(server.port, path, json.dumps({"n": n}).encode()) for n in range(1000)))

    results = asyncio.run(burst())
    ok = sorted(int(body) for status, body in results if status == 200)
    throttled = [json.loads(body) for status, body in results if status == 429]
    assert len(ok) + len(throttled) == 1000
    assert ok and throttled
    assert {t["Reason"] for t in throttled} == {"ReservedFunctionConcurrentInvocationLimitExceeded"}
    runs = [line.split() for line in record.read_text().splitlines()]
    assert sorted(int(n) for _, n, _, _ in runs) == ok  # every accepted invoke ran exactly once
    assert len({request_id for request_id, _, _, _ in runs}) == len(runs)
    edges = sorted([(float(s), 1) for _, _, s, _ in runs] + [(float(e), -1) for _, _, _, e in runs])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak <= 10
    assert lambda_client.invoke(FunctionName=name, Payload=b'{"n": -1}')["Payload"].read() == b"-1"
