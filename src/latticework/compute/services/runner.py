"""Task processes: choose a free port, spawn a container's process in its own process group with its output
appended to the task's log file, probe whether its port accepts connections, signal the group, and kill the
group of a process an earlier (killed) server left running. The asyncio shell
of the service runtime (with supervisor.py); what to run comes from `launch.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import socket
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from latticework.compute.services.launch import LaunchSpec

__all__ = ["ContainerProcess", "free_port", "kill_leftover", "port_open", "process_birth", "spawn"]


def free_port(taken: Collection[int], host: str = "127.0.0.1") -> int:
    """A port the kernel says is free now and that no other live task was given (the kernel can hand out a port
    again once its first holder closed the probe socket, before that task's process binds it)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        if port not in taken:
            return port
    raise OSError("no free port found in 100 tries")


@dataclass
class ContainerProcess:
    spec: LaunchSpec
    process: asyncio.subprocess.Process
    waiter: asyncio.Task[int] = field(init=False)

    def __post_init__(self) -> None:
        self.waiter = asyncio.ensure_future(self.process.wait())

    @property
    def exit_code(self) -> int | None:
        return self.waiter.result() if self.waiter.done() else None

    def signal(self, signum: int) -> None:
        # The container's whole process group: a shell wrapper's children go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


async def spawn(spec: LaunchSpec, log_path: Path) -> ContainerProcess:
    """Start the container's process; raises OSError (no such command, no working directory)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        command = shlex.join(spec.argv)
        command = command if len(command) <= 200 else command[:197] + "..."
        log.write(f"[latticework {stamp}] {spec.container}: starting {command}\n".encode())
        log.flush()
        process = await asyncio.create_subprocess_exec(
            *spec.argv,
            cwd=spec.cwd,
            env=spec.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    return ContainerProcess(spec, process)


async def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on the port (the container is listening)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def kill_all(processes: Collection[ContainerProcess], signum: int = signal.SIGKILL) -> None:
    for process in processes:
        if process.exit_code is None:
            process.signal(signum)


def process_birth(pid: int) -> str | None:
    """When the process started (Linux: /proc/PID/stat's starttime, in clock ticks since boot), which tells it
    from a later process given the same ID; None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces: fields 3, 4, ...
    return fields[19] if len(fields) > 19 else None  # field 22


def kill_leftover(pid: int, birth: str | None) -> bool:
    """SIGKILL the process group of a container that an earlier server started and left running (the server was
    killed), if the process with that ID is still the one recorded; True when it was."""
    if birth is None or process_birth(pid) != birth:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    return True
