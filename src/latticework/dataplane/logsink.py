"""Writing access log records to files under STATE_DIR/logs: the only I/O of access logging.

Records are buffered as JSON lines per file and appended in batches. Safe with several data-plane worker
processes writing the same files: every file is opened with O_APPEND and each flush writes its batch with one
write() call, so the kernel places each batch whole at the end of the file and lines never interleave (POSIX
write(2): with O_APPEND "the file offset shall be set to the end of the file prior to each write and no
intervening file modification operation shall occur between changing the file offset and the write operation").
Files are opened and closed on every flush: no handles to leak, and a deleted or rotated file is recreated.
Where each destination lands is decided by the pure `accesslog.destination_path`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path, PurePath
from types import TracebackType
from typing import Any

from latticework.dataplane.accesslog import S3_WINDOW_SECONDS, UnsupportedDestinationError, destination_path

__all__ = ["AccessLogSink", "encode_record"]

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
# json.dumps with these arguments builds a new encoder per call; one shared encoder writes the same text.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_MAX_CACHED_FILES = 4096
_UNKNOWN = "\0"  # a cache miss in `_files` (whose values are a path or None; no path holds a NUL)


def encode_record(record: dict[str, Any]) -> bytes:
    """One JSON line (compact, UTF-8, newline-terminated). json escapes control characters, so a value can
    never break the line."""
    return (_ENCODER.encode(record) + "\n").encode()


class AccessLogSink:
    """Buffers access log lines per file and appends them at most every `max_delay` seconds or `max_bytes`.

    Never reads the clock: callers pass `now` to `write` and should call `flush_if_due(now)` on a timer (every
    `max_delay`) so a quiet relay still delivers; `close()` flushes everything. Create one sink per process
    (after forking), never share one across a fork. Write errors (disk full, permissions) drop that batch and
    are counted in `dropped_lines` / kept in `last_error`, because access logs must never fail a request (on
    AWS delivery is best effort too).
    """

    def __init__(self, logs_dir: Path, *, max_delay: float = 0.1, max_bytes: int = 256 * 1024) -> None:
        """`max_bytes`: 256 KiB batches cost about 0.5 us a record in open/write/close, 64 KiB ones 0.9 us."""
        self.logs_dir = logs_dir
        self.max_delay = max_delay
        self.max_bytes = max_bytes
        self.dropped_lines = 0
        self.unsupported_destinations: set[str] = set()
        self.last_error: OSError | None = None
        self._pending: dict[str, list[bytes]] = {}  # file path -> lines, in the order they were written
        self._pending_bytes = 0
        self._oldest: float | None = None  # `now` of the oldest buffered line
        self._lock = threading.Lock()
        # (destination, resource, account, region, S3 window) -> file: destination_path costs ~5 us a record.
        self._files: dict[tuple[str, str, str, str, int], str | None] = {}

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def write(
        self,
        destinations: Sequence[str],
        resource_id: str,
        account: str,
        region: str,
        record: dict[str, Any] | bytes,
        now: float,
    ) -> None:
        """Buffer `record` (a record, or its line from `accesslog.access_line`) for each destination ARN of
        `resource_id` (owned by `account` in `region`); flush if the buffer is due. Destinations Lattice cannot
        deliver to are skipped and remembered in `unsupported_destinations`."""
        line = record if type(record) is bytes else encode_record(record)  # type: ignore[arg-type]
        window = int(now // S3_WINDOW_SECONDS)  # the only way `now` changes a destination's file
        files = self._files
        with self._lock:
            for arn in destinations:
                path = files.get((arn, resource_id, account, region, window), _UNKNOWN)
                if path is _UNKNOWN:
                    path = self._file(arn, resource_id, account, region, now)
                if path is not None:
                    self._buffer(path, line, now)
            # One lock per record (was two: buffering, then flush_if_due); the flush itself runs outside it.
            due = self._due(now)
        if due:
            self.flush()

    def write_file(self, relative: PurePath, line: bytes, now: float) -> None:
        """Buffer one line for the file at `relative` (under the logs directory): an ALB's access log, whose
        path `alb.accesslog.alb_log_path` decides."""
        path = os.fspath(self.logs_dir / relative)
        with self._lock:
            self._buffer(path, line, now)
            due = self._due(now)
        if due:
            self.flush()

    def _buffer(self, path: str, line: bytes, now: float) -> None:
        """Under the lock: `line` queued for the file at `path`."""
        lines = self._pending.get(path)
        if lines is None:
            self._pending[path] = [line]
        else:
            lines.append(line)
        self._pending_bytes += len(line)
        if self._oldest is None:
            self._oldest = now

    def flush_if_due(self, now: float) -> bool:
        """Flush if the oldest buffered line is `max_delay` old or the buffer holds `max_bytes`."""
        with self._lock:
            due = self._due(now)
        if due:
            self.flush()
        return due

    def _due(self, now: float) -> bool:
        """Under the lock: the oldest buffered line is `max_delay` old, or the buffer holds `max_bytes`."""
        oldest = self._oldest
        return oldest is not None and (now - oldest >= self.max_delay or self._pending_bytes >= self.max_bytes)

    def flush(self) -> None:
        """Append every buffered line to its file: one open, one write() and one close per file."""
        with self._lock:
            batches, self._pending = self._pending, {}
            self._pending_bytes = 0
            self._oldest = None
        for path, lines in batches.items():
            try:
                _append(path, b"".join(lines))
            except OSError as exc:
                self.dropped_lines += len(lines)
                self.last_error = exc

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> AccessLogSink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _file(self, arn: str, resource_id: str, account: str, region: str, now: float) -> str | None:
        window = int(now // S3_WINDOW_SECONDS)  # the only way `now` changes a destination's file
        key = (arn, resource_id, account, region, window)
        try:
            return self._files[key]
        except KeyError:
            pass
        if len(self._files) >= _MAX_CACHED_FILES:
            self._files.clear()
        try:
            # A str: hashing a Path on every record costs a Python-level __hash__ call.
            path: str | None = os.fspath(self.logs_dir / destination_path(arn, resource_id, account, region, now))
        except UnsupportedDestinationError:
            self.unsupported_destinations.add(arn)
            path = None
        self._files[key] = path
        return path


def _append(path: str, data: bytes) -> None:
    try:
        fd = os.open(path, _FLAGS, 0o644)
    except FileNotFoundError:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, _FLAGS, 0o644)
    try:
        view = memoryview(data)
        while view:  # a regular file takes the whole buffer in one write() unless the disk fills up
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
