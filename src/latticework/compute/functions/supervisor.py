"""The function supervisor: finds a function's definition in the store, holds a concurrency slot for each
invocation, reuses a warm environment or starts one (cold start), writes the START/END/REPORT lines, and turns
every way an invocation can end into the payload Lambda returns for it. A worker that times out, exits or runs
out of memory is killed and replaced on the next invocation; the slot is released in every case.

`FunctionSupervisor.invoke` is the interface the Lambda API and the data plane call. The asyncio shell of the
runtime, together with `environment.py`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from latticework.compute.functions.concurrency import ConcurrencyLimiter, Slot, Throttled
from latticework.compute.functions.environment import Environment, Reply
from latticework.compute.functions.logs import FunctionLogs, InvocationLog, end_line, report_line, start_line
from latticework.compute.functions.model import (
    FUNCTION_KIND,
    FunctionDefinition,
    FunctionNotFound,
    InvocationThrottled,
    InvokeResult,
)
from latticework.compute.functions.runtimes import interpreter_for
from latticework.control.store import Store

__all__ = ["FunctionStats", "FunctionSupervisor"]

_IDLE_SECONDS = 300.0  # Lambda keeps idle environments for minutes; so do we, then free the memory
_MAX_IDLE_PER_FUNCTION = 32
_INIT_TIMEOUT = 10.0  # Lambda DG "Lambda execution environment": the init phase is limited to 10 s


@dataclass
class FunctionStats:
    """Counters `latticework status` shows per function."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0


@dataclass
class _Pool:
    idle: list[Environment] = field(default_factory=list)


class _Registry:
    """Function definitions read from the store, cached until the store's config version moves."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.version = -1
        self.definitions: dict[str, FunctionDefinition | None] = {}
        self.reserved_totals: dict[tuple[str, str], int] = {}

    def lookup(self, function_arn: str) -> FunctionDefinition:
        version = self.store.config_version()
        if version != self.version:
            self.definitions.clear()
            self.reserved_totals.clear()
            self.version = version
        if function_arn not in self.definitions:
            self.definitions[function_arn] = self._read(function_arn)
        definition = self.definitions[function_arn]
        if definition is None:
            raise FunctionNotFound(function_arn)
        return definition

    def _read(self, function_arn: str) -> FunctionDefinition | None:
        with self.store.transaction() as tx:
            record = tx.get_by_arn(function_arn)
        if record is None or record.kind != FUNCTION_KIND:
            return None
        return FunctionDefinition.from_doc(record.account, record.region, record.doc)

    def total_reserved(self, account: str, region: str) -> int:
        key = (account, region)
        if key not in self.reserved_totals:
            with self.store.transaction() as tx:
                records = tx.find(FUNCTION_KIND, account, region)
            self.reserved_totals[key] = sum(r.doc.get("_reserved") or 0 for r in records)
        return self.reserved_totals[key]


class FunctionSupervisor:
    def __init__(self, state_dir: Path, store: Store) -> None:
        self.registry = _Registry(store)
        self.logs = FunctionLogs(state_dir / "logs" / "functions")
        self.pools: dict[str, _Pool] = {}
        self.limiters: dict[tuple[str, str], ConcurrencyLimiter] = {}
        self.stats: dict[str, FunctionStats] = {}
        self.background: set[asyncio.Task[None]] = set()
        self.reaper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.reaper = asyncio.create_task(self._reap_idle())

    async def stop(self) -> None:
        tasks = [t for t in (self.reaper, *self.background) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for pool in self.pools.values():
            await asyncio.gather(*(env.kill() for env in pool.idle))
            pool.idle.clear()
        self.logs.close()

    def definition(self, function_arn: str) -> FunctionDefinition:
        """The function's definition; raises FunctionNotFound."""
        return self.registry.lookup(function_arn)

    async def invoke(
        self, function_arn: str, payload: bytes, *, tail: bool = False, client_context: str | None = None
    ) -> InvokeResult:
        """Run one synchronous invocation (RequestResponse). Raises FunctionNotFound, InvocationThrottled (at
        once, never queued) or RuntimeUnavailable; every other outcome is an InvokeResult."""
        definition = self.registry.lookup(function_arn)
        slot = self._acquire(definition)
        try:
            return await self._run(definition, payload, tail, client_context)
        finally:
            self._limiter(definition).release(slot)

    def invoke_event(self, function_arn: str, payload: bytes) -> None:
        """Queue an asynchronous invocation (InvocationType=Event): it waits for a free slot (Lambda retries
        throttled events, Lambda DG "Asynchronous invocation") and runs once. Raises FunctionNotFound."""
        self.registry.lookup(function_arn)
        task = asyncio.create_task(self._run_event(function_arn, payload))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _run_event(self, function_arn: str, payload: bytes) -> None:
        delay = 0.01
        while True:
            try:
                await self.invoke(function_arn, payload)
                return
            except InvocationThrottled:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            except FunctionNotFound:
                return  # deleted while queued: Lambda drops the event too

    def stats_for(self, function_arn: str) -> FunctionStats:
        return self.stats.setdefault(function_arn, FunctionStats())

    def warm_workers(self, function_arn: str) -> int:
        pool = self.pools.get(function_arn)
        return sum(1 for env in pool.idle if env.alive()) if pool else 0

    def running(self, definition: FunctionDefinition) -> int:
        return self._limiter(definition).running(definition.arn)

    def _limiter(self, definition: FunctionDefinition) -> ConcurrencyLimiter:
        return self.limiters.setdefault((definition.account, definition.region), ConcurrencyLimiter())

    def _acquire(self, definition: FunctionDefinition) -> Slot:
        total = self.registry.total_reserved(definition.account, definition.region)
        slot = self._limiter(definition).try_acquire(definition.arn, definition.reserved, total)
        if isinstance(slot, Throttled):
            self.stats_for(definition.arn).throttles += 1
            raise InvocationThrottled(slot.reason)
        return slot

    async def _run(
        self, definition: FunctionDefinition, payload: bytes, tail: bool, client_context: str | None
    ) -> InvokeResult:
        request_id = str(uuid.uuid4())
        log = InvocationLog(self.logs, definition.name, keep_tail=tail)
        stats = self.stats_for(definition.arn)
        stats.invocations += 1
        env, failure = await self._environment(definition, log)
        init_ms = env.init_ms if env.cold else None
        log.write(start_line(request_id))
        started = time.perf_counter()
        if failure is None:
            env.cold = False
            deadline = int(time.time() * 1000 + definition.timeout * 1000)
            header = {"id": request_id, "arn": definition.arn, "deadline": deadline, "clientContext": client_context}
            reply = await env.invoke(header, payload, definition.timeout, log.write)
            self._release_environment(definition, env)
        else:
            reply = failure
        duration = (time.perf_counter() - started) * 1000
        # Lambda reports the configured timeout, not the few extra milliseconds the kill took.
        seconds = float(definition.timeout) if reply.kind == "timeout" else duration / 1000
        result_payload, function_error = _outcome(reply, request_id, seconds)
        log.write(end_line(request_id))
        log.write(report_line(request_id, duration, definition.memory_mb, _used(reply, definition), init_ms))
        if reply.kind == "timeout":
            log.write(f"{_utc_now()} {request_id} Task timed out after {seconds:.2f} seconds\n")
        if function_error:
            stats.errors += 1
        return InvokeResult(request_id, result_payload, function_error, log.last_bytes(), duration, init_ms)

    async def _environment(
        self, definition: FunctionDefinition, log: InvocationLog
    ) -> tuple[Environment, Reply | None]:
        """A warm environment of the current revision, or a freshly started one (with its init failure, if any)."""
        pool = self.pools.setdefault(definition.arn, _Pool())
        while pool.idle:
            env = pool.idle.pop()
            if env.alive() and env.definition.revision == definition.revision:
                return env, None
            await env.kill()
        self.stats_for(definition.arn).cold_starts += 1
        env = Environment(definition, interpreter_for(definition.runtime), self.logs.file(definition.name).fileno())
        failure = await env.start(_INIT_TIMEOUT, log.write)
        return env, failure

    def _release_environment(self, definition: FunctionDefinition, env: Environment) -> None:
        pool = self.pools.setdefault(definition.arn, _Pool())
        if env.alive() and len(pool.idle) < _MAX_IDLE_PER_FUNCTION:
            pool.idle.append(env)
        elif env.alive():
            self._spawn_kill(env)

    def _spawn_kill(self, env: Environment) -> None:
        task = asyncio.create_task(env.kill())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(10)
            now = time.monotonic()
            for pool in self.pools.values():
                stale = [env for env in pool.idle if now - env.idle_since > _IDLE_SECONDS or not env.alive()]
                for env in stale:
                    pool.idle.remove(env)
                    await env.kill()


def _used(reply: Reply, definition: FunctionDefinition) -> int | None:
    return definition.memory_mb if reply.kind == "out_of_memory" else reply.max_memory_mb


def _utc_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def _outcome(reply: Reply, request_id: str, seconds: float) -> tuple[bytes, str | None]:
    """The Invoke payload and X-Amz-Function-Error for each way an invocation ends."""
    if reply.kind == "result":
        return reply.payload, None
    if reply.kind in ("error", "init_error"):
        return reply.payload, "Unhandled"
    return json.dumps(_runtime_error(reply, request_id, seconds)).encode(), "Unhandled"


def _runtime_error(reply: Reply, request_id: str, seconds: float) -> dict[str, str]:
    # Lambda DG "Troubleshoot invocation issues": Sandbox.Timedout, Runtime.ExitError, Runtime.OutOfMemory.
    if reply.kind == "timeout":
        error_type, message = "Sandbox.Timedout", f"Task timed out after {seconds:.2f} seconds"
    elif reply.kind == "out_of_memory":
        error_type, message = "Runtime.OutOfMemory", "Runtime exited with error: signal: killed"
    else:
        error_type, message = "Runtime.ExitError", f"Runtime exited with error: {reply.exit}"
    return {"errorType": error_type, "errorMessage": f"RequestId: {request_id} Error: {message}"}
