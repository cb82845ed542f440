"""Extra data-plane workers for `latticework server --workers N`.

The server process is worker 0: API, data plane and the health checker. Workers 1..N-1 are processes that run
only the data plane, on the same ingress ports (SO_REUSEPORT: the kernel spreads connections across them), with
their own store connection, following the same config. They do not check health themselves: every second they
read the target statuses the checker wrote back (which do not bump the config version) and route by those. They
run no functions either: LAMBDA targets are invoked through the server's Lambda API on loopback
(`lambda_target.LoopbackInvoker`), so the supervisor and its concurrency limits stay in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from latticework.control.store import Store
from latticework.control.store.factory import open_store
from latticework.dataplane.health import healthy_from_stored
from latticework.dataplane.lambda_target import LoopbackInvoker
from latticework.dataplane.snapshot import TargetGroupView, TargetView

__all__ = ["StoredHealth", "WorkerPool", "main"]

log = logging.getLogger(__name__)

HEALTH_READ_SECONDS = 1.0
_RESTART_DELAY = 1.0


class StoredHealth:
    """Health as the checker in worker 0 stored it, re-read every second."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.statuses: dict[str, dict[str, str]] = {}  # target group id -> target key -> status

    def refresh(self) -> None:
        _, targets = self.store.read_all(["target"])
        statuses: dict[str, dict[str, str]] = defaultdict(dict)
        for record in targets:
            doc = record.doc
            key = TargetView(doc["id"], doc.get("port"), "").key
            statuses[record.parent or ""][key] = doc.get("status", "INITIAL")
        self.statuses = dict(statuses)

    def healthy(self, group: TargetGroupView) -> frozenset[str]:
        known = self.statuses.get(group.id, {})
        fresh = tuple(dataclasses.replace(t, status=known.get(t.key, t.status)) for t in group.targets)
        return healthy_from_stored(dataclasses.replace(group, targets=fresh))


async def _serve(state_dir: Path, store_url: str | None, api_port: int, strict: bool) -> None:
    from latticework.dataplane.server import DataPlane

    store = open_store(store_url, state_dir)
    stored = StoredHealth(store)
    dataplane = DataPlane(
        store,
        state_dir,
        reuse_port=True,
        check_health=False,
        healthy=stored.healthy,
        follow_store=open_store(store_url, state_dir),
        invoker=LoopbackInvoker(api_port),
        strict=strict,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await dataplane.start()
    try:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                stored.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HEALTH_READ_SECONDS)
    finally:
        await dataplane.stop()
        store.close()


def main() -> None:
    """`python -m latticework.dataplane.worker STATE_DIR STORE_URL API_PORT [strict]`: run one data-plane worker
    until SIGTERM (STORE_URL may be empty: SQLite in the state dir)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s worker %(name)s: %(message)s")
    state_dir = Path(sys.argv[1])
    store_url = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    api_port = int(sys.argv[3]) if len(sys.argv) > 3 else 9750
    strict = len(sys.argv) > 4 and sys.argv[4] == "strict"
    serving = _serve(state_dir, store_url, api_port, strict)
    try:
        import uvloop

        uvloop.run(serving)
    except ImportError:
        asyncio.run(serving)


class WorkerPool:
    """Starts the extra workers with the server and restarts one that dies."""

    def __init__(
        self, count: int, state_dir: Path, store_url: str | None, api_port: int = 9750, strict: bool = False
    ) -> None:
        self.count = count
        self.command = [sys.executable, "-m", "latticework.dataplane.worker", str(state_dir), store_url or ""]
        self.command += [str(api_port), "strict" if strict else ""]
        self.processes: list[subprocess.Popen[bytes]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.processes = [subprocess.Popen(self.command) for _ in range(self.count)]
        self._task = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(_RESTART_DELAY)
            for i, process in enumerate(self.processes):
                if process.poll() is not None:
                    log.warning("data-plane worker exited with %s; restarting it", process.returncode)
                    self.processes[i] = subprocess.Popen(self.command)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for process in self.processes:
            process.terminate()
        deadline = time.monotonic() + 10
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
