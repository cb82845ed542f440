"""One worker environment: a child process running `_bootstrap.py` under the function's interpreter, with the
handler imported once and kept warm. Starts it, sends invocations over its pipes and reads the frames back,
kills it (the whole process group) on timeout, retirement or shutdown.

The asyncio shell of the runtime; the states it moves through are the table in `states.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from latticework.compute.functions.model import FunctionDefinition
from latticework.compute.functions.states import EnvEvent, EnvState, next_state

__all__ = ["Environment", "Reply"]

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
_HEADER = struct.Struct(">cI")
# Lambda DG "Defining Lambda function environment variables": names the runtime sets and users cannot.
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


@dataclass(frozen=True, slots=True)
class Reply:
    """How an invocation ended: `result` or `error` (payload from the handler), `init_error` (payload is the
    error document), `timeout`, `crash` (`exit` says how the process ended) or `out_of_memory`."""

    kind: str
    payload: bytes = b""
    max_memory_mb: int | None = None
    exit: str = ""


LogSink = Callable[[bytes], None]


class Environment:
    def __init__(self, definition: FunctionDefinition, interpreter: str, log_file: int) -> None:
        self.definition = definition
        self.interpreter = interpreter
        self.log_file = log_file
        self.state = EnvState.STARTING
        self.process: asyncio.subprocess.Process | None = None
        self.log_sink: LogSink = lambda _: None
        self.init_ms: float | None = None
        self.idle_since = time.monotonic()
        self.cold = True  # until its first invocation, whose REPORT line carries the Init Duration

    def _move(self, event: EnvEvent) -> None:
        self.state = next_state(self.state, event)

    async def start(self, timeout: float, log_sink: LogSink) -> Reply | None:
        """Spawn and wait for the handler import; None when ready, else the init failure as a Reply."""
        self.log_sink = log_sink
        started = time.perf_counter()
        self.process = await asyncio.create_subprocess_exec(
            self.interpreter,
            str(BOOTSTRAP),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self.log_file,
            env=self._environment(),
            cwd=self.definition.code_dir,
            start_new_session=True,  # one process group: a kill takes the handler's children with it
        )
        reply = await self._await_frame(timeout, "S")
        self.init_ms = (time.perf_counter() - started) * 1000
        if reply is None:
            self._move(EnvEvent.BOOTED)
            return None
        self._move(EnvEvent.INIT_FAILED)
        await self.kill()
        return reply

    async def invoke(self, header: dict[str, object], payload: bytes, timeout: float, log_sink: LogSink) -> Reply:
        self._move(EnvEvent.INVOKED)
        self.log_sink = log_sink
        assert self.process is not None and self.process.stdin is not None
        body = json.dumps(header).encode() + b"\n" + payload
        self.process.stdin.write(_HEADER.pack(b"I", len(body)) + body)
        reply = await self._await_frame(timeout, "R")
        assert reply is not None
        self._move(_EVENTS[reply.kind])
        if self.state is EnvState.DEAD:
            await self.kill()
        self.idle_since = time.monotonic()
        return reply

    async def _await_frame(self, timeout: float, success: str) -> Reply | None:
        try:
            async with asyncio.timeout(timeout):
                return await self._read_until_final(success)
        except TimeoutError:
            return Reply("timeout")
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            return Reply("crash", exit=await self._exit_description())

    async def _read_until_final(self, success: str) -> Reply | None:
        assert self.process is not None and self.process.stdout is not None
        reader = self.process.stdout
        while True:
            kind, size = _HEADER.unpack(await reader.readexactly(_HEADER.size))
            body = await reader.readexactly(size)
            if kind == b"L":
                self.log_sink(body)
            elif kind == b"S" and success == "S":
                return None
            else:
                return _final(kind, body)

    async def _exit_description(self) -> str:
        """How the process ended, worded as Lambda words it (Go's os/exec: `exit status 1`, `signal: killed`)."""
        assert self.process is not None
        try:
            async with asyncio.timeout(5):
                code = await self.process.wait()
        except TimeoutError:
            await self.kill()
            code = -signal.SIGKILL
        if code >= 0:
            return f"exit status {code}"
        return f"signal: {signal.strsignal(-code) or -code}".lower()

    async def kill(self) -> None:
        """Kill the process group and reap it; safe to call on an environment that is already gone."""
        if self.state is not EnvState.DEAD:
            self._move(EnvEvent.RETIRED)
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()

    def alive(self) -> bool:
        return self.state is EnvState.READY and self.process is not None and self.process.returncode is None

    def _environment(self) -> dict[str, str]:
        d = self.definition
        stream = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{uuid.uuid4().hex}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            # glibc reserves 64 MB of address space per thread arena; two keep RLIMIT_AS about real memory.
            "MALLOC_ARENA_MAX": "2",
            **dict(d.environment),
            "_HANDLER": d.handler,
            "LAMBDA_TASK_ROOT": d.code_dir,
            "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
            "AWS_REGION": d.region,
            "AWS_DEFAULT_REGION": d.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{d.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": d.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(d.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{d.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        }
        return env


def _final(kind: bytes, body: bytes) -> Reply:
    if kind == b"X":
        return Reply("init_error", body)
    if kind == b"M":
        return Reply("out_of_memory")
    stats_line, _, payload = body.partition(b"\n")
    max_memory = json.loads(stats_line).get("maxMemoryMb")
    return Reply("result" if kind == b"R" else "error", payload, max_memory)


_EVENTS = {
    "result": EnvEvent.RETURNED,
    "error": EnvEvent.RETURNED,
    "timeout": EnvEvent.TIMED_OUT,
    "crash": EnvEvent.CRASHED,
    "out_of_memory": EnvEvent.OUT_OF_MEMORY,
    "init_error": EnvEvent.CRASHED,
}
