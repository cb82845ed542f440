"""Per-function logs: STATE_DIR/logs/functions/NAME.log, one file per function (the log group), with the
START / END / REPORT lines Lambda writes around every invocation (Lambda DG "Working with Lambda function
logs"), and the last 4 KB of one invocation's lines for `LogType=Tail`.

The line formats are pure functions; `FunctionLogs` appends to the files (file I/O, no sockets).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO

__all__ = ["TAIL_BYTES", "FunctionLogs", "InvocationLog", "report_line", "start_line"]

TAIL_BYTES = 4096  # Lambda API Invoke: LogResult is "the last 4 KB of the execution log"


def start_line(request_id: str) -> str:
    return f"START RequestId: {request_id} Version: $LATEST\n"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}\n"


def report_line(
    request_id: str, duration_ms: float, memory_mb: int, max_used_mb: int | None, init_ms: float | None
) -> str:
    used = max_used_mb if max_used_mb is not None else memory_mb
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {used} MB\t"
    )
    if init_ms is not None:
        line += f"Init Duration: {init_ms:.2f} ms\t"
    return line + "\n"


class FunctionLogs:
    """Append-only log files, one per function, opened once and kept open."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[str, BinaryIO] = {}

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def file(self, name: str) -> BinaryIO:
        handle = self.files.get(name)
        if handle is None or handle.closed:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = self.files[name] = self.path(name).open("ab", buffering=0)
        return handle

    def write(self, name: str, text: bytes) -> None:
        self.file(name).write(text)

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()
        self.files.clear()


class InvocationLog:
    """The lines of one invocation: written through to the function's file, and the tail kept for LogType=Tail."""

    def __init__(self, logs: FunctionLogs, name: str, keep_tail: bool) -> None:
        self.logs = logs
        self.name = name
        self.tail = bytearray() if keep_tail else None

    def write(self, text: str | bytes) -> None:
        data = text.encode("utf-8", "replace") if isinstance(text, str) else text
        self.logs.write(self.name, data)
        if self.tail is not None:
            self.tail += data
            if len(self.tail) > 2 * TAIL_BYTES:
                del self.tail[:-TAIL_BYTES]

    def last_bytes(self) -> bytes:
        return bytes(self.tail[-TAIL_BYTES:]) if self.tail is not None else b""
