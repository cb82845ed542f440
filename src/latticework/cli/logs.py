"""`latticework logs`: print the access log records under STATE_DIR/logs, merged by startTime, and follow them.

Reads every destination's files (cloudwatch/, s3/, firehose/), so a request logged to two destinations (or by
both its service's and its service network's subscriptions) is printed once. `--service NAME` that names an ECS
service (NAME or CLUSTER/NAME) prints its tasks' stdout/stderr instead (STATE_DIR/logs/services/CLUSTER/NAME/
TASKID.log, each line prefixed with its task ID); `--function` a function's log; `--alb NAME` an ALB's access
log lines (ELB's syntax, from the ALB's S3 objects). `poll_new_lines` is the non-blocking step the follow loop
repeats: it returns the complete lines appended since the last poll, including those of files created since.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["FollowState", "logs", "parse_records", "poll_new_lines", "service_matches", "task_log_dirs"]

_SUFFIXES = (".log", ".json")
_REMEMBERED = 100_000  # lines kept to drop duplicates across destinations while following
_POLL_SECONDS = 0.25

# --pretty columns: header, record field, width.
_COLUMNS = (
    ("time", "startTime", 20),
    ("method", "requestMethod", 7),
    ("host", "hostHeader", 36),
    ("path", "requestPath", 28),
    ("status", "responseCode", 6),
    ("duration", "duration", 8),
    ("target", "targetIpPort", 21),
    ("failureReason", "failureReason", 26),
)


@dataclass
class FollowState:
    """How far each log file has been read, and the lines seen lately (to drop duplicates)."""

    logs_dir: Path
    offsets: dict[Path, int] = field(default_factory=dict)
    recent: deque[str] = field(default_factory=deque)
    seen: set[str] = field(default_factory=set)


def poll_new_lines(state: FollowState) -> list[str]:
    """The complete lines appended to any log file under `state.logs_dir` since the last poll (all lines on
    the first poll), each once, in file order. A partly written last line waits for the next poll; a file that
    shrank (rotated, truncated) is read again from its start. Never blocks."""
    new: list[str] = []
    for path in _log_files(state.logs_dir):
        for line in _read_new(state, path):
            if line not in state.seen:
                _remember(state, line)
                new.append(line)
    return new


def _log_files(logs_dir: Path) -> list[Path]:
    if not logs_dir.is_dir():
        return []
    # logs/functions/ and logs/services/ hold function and task output (plain text), not access log records.
    plain = (logs_dir / "functions", logs_dir / "services")
    return sorted(
        p
        for p in logs_dir.rglob("*")
        if p.suffix in _SUFFIXES and p.is_file() and not any(d in p.parents for d in plain)
    )


def _read_new(state: FollowState, path: Path) -> list[str]:
    offset = state.offsets.get(path, 0)
    try:
        if path.stat().st_size == offset:  # the common case while following: nothing new, no open()
            return []
        with path.open("rb") as file:
            if file.seek(0, 2) < offset:
                offset = 0
            file.seek(offset)
            chunk = file.read()
    except OSError:
        return []
    complete = chunk[: chunk.rfind(b"\n") + 1]
    state.offsets[path] = offset + len(complete)
    return [line for line in complete.decode(errors="replace").splitlines() if line.strip()]


def _remember(state: FollowState, line: str) -> None:
    state.recent.append(line)
    state.seen.add(line)
    if len(state.recent) > _REMEMBERED:
        state.seen.discard(state.recent.popleft())


def parse_records(lines: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """(line, record) for each line that is a JSON object, sorted by startTime (stable, so lines of the same
    second keep their order). Other lines are skipped."""
    parsed = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            parsed.append((line, record))
    return sorted(parsed, key=lambda item: str(item[1].get("startTime", "")))


def service_matches(record: dict[str, Any], wanted: str) -> bool:
    """Whether a record is for the service `wanted` names: its ARN, its ID, or its name. A record carries no
    service name, so a name matches through the generated DNS name in hostHeader
    (`<name>-<id without svc->.<...>.on.aws`); requests sent to a custom domain match by ID or ARN only."""
    arn = str(record.get("serviceArn") or "-")
    if arn == "-":
        return False
    service_id = arn.rpartition("/")[2]
    if wanted in (arn, service_id):
        return True
    host = str(record.get("hostHeader") or "").partition(":")[0].lower()
    return host.partition(".")[0] == f"{wanted}-{service_id.removeprefix('svc-')}".lower()


def _since_ok(record: dict[str, Any], cutoff: float | None) -> bool:
    if cutoff is None:
        return True
    try:
        started = datetime.strptime(str(record.get("startTime")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return False
    return started.timestamp() >= cutoff


class _Printer:
    """Prints records as JSON lines, or with --pretty as rows of one aligned table (header printed once)."""

    def __init__(self, pretty: bool) -> None:
        self.pretty = pretty
        self.header_shown = False
        width = sum(w for _, _, w in _COLUMNS) + len(_COLUMNS) * 2
        self.console = Console(highlight=False, soft_wrap=False, width=width if pretty else None)

    def show(self, records: list[tuple[str, dict[str, Any]]]) -> None:
        if not self.pretty:
            for line, _ in records:
                typer.echo(line)
        elif records or not self.header_shown:
            self.console.print(self._table(records))
            self.header_shown = True

    def _table(self, records: list[tuple[str, dict[str, Any]]]) -> Table:
        table = Table(box=None, show_header=not self.header_shown, pad_edge=False, header_style="bold")
        for header, _, width in _COLUMNS[:-1]:
            table.add_column(header, width=width, no_wrap=True, overflow="ellipsis")
        table.add_column(_COLUMNS[-1][0], no_wrap=True)  # last: no padding to the right
        for _, record in records:
            table.add_row(*(_cell(record, name) for _, name, _ in _COLUMNS))
        return table


def _cell(record: dict[str, Any], name: str) -> str:
    value = record.get(name, "-")
    if name == "duration" and isinstance(value, int):
        return f"{value} ms"
    return str(value)


def logs(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new records (all files, new ones too) until Ctrl-C.")
    ] = False,
    state_dir: Annotated[Path, typer.Option("--state-dir", help="Where the store, CA and logs live.")] = Path(
        ".latticework"
    ),
    service: Annotated[
        str | None,
        typer.Option(
            "--service",
            help="Only records of this Lattice service (name, ID or ARN); an ECS service's name (or CLUSTER/NAME) "
            "prints its tasks' stdout/stderr instead.",
        ),
    ] = None,
    since: Annotated[
        float | None, typer.Option("--since", min=0, help="Only records that started in the last SECONDS.")
    ] = None,
    pretty: Annotated[bool, typer.Option("--pretty", help="An aligned table instead of JSON lines.")] = False,
    function: Annotated[
        str | None, typer.Option("--function", help="Print this function's log (START/END/REPORT and output) instead.")
    ] = None,
    alb: Annotated[
        str | None,
        typer.Option("--alb", help="Print this ALB's access log (name, or app/NAME/ID), ELB's line syntax, instead."),
    ] = None,
) -> None:
    """Print the access log records under STATE_DIR/logs, oldest first, one JSON object per line."""
    if function is not None:
        _function_log(state_dir / "logs" / "functions" / f"{function}.log", follow)
        return
    if alb is not None:
        _alb_log(state_dir / "logs" / "s3", alb, follow)
        return
    task_dirs = task_log_dirs(state_dir / "logs", service) if service is not None else []
    if task_dirs:
        _task_logs(task_dirs, follow)
        return
    cutoff = None if since is None else time.time() - since
    state = FollowState(state_dir / "logs")
    printer = _Printer(pretty)

    def emit(lines: list[str]) -> None:
        records = [
            (line, record)
            for line, record in parse_records(lines)
            if (service is None or service_matches(record, service)) and _since_ok(record, cutoff)
        ]
        printer.show(records)

    emit(poll_new_lines(state))
    if not follow:
        return
    try:
        while True:
            time.sleep(_POLL_SECONDS)
            emit(poll_new_lines(state))
    except KeyboardInterrupt:
        pass


def _alb_log(s3_dir: Path, alb: str, follow: bool) -> None:
    """The lines of the ALB's access log objects (any bucket; `access_logs.s3.*`), then (with -f) new ones."""
    state = FollowState(s3_dir)
    try:
        while True:
            for line in poll_new_lines(state):
                if alb_line_matches(line, alb):
                    typer.echo(line)
            if not follow:
                return
            time.sleep(_POLL_SECONDS)
    except KeyboardInterrupt:
        pass


def alb_line_matches(line: str, alb: str) -> bool:
    """Whether an access log line is ELB's, of the ALB `alb` names: its name, or its `app/NAME/ID` (third field)."""
    fields = line.split(" ", 3)
    if len(fields) < 4 or fields[0] not in ("http", "https", "h2", "ws", "wss", "grpcs"):
        return False
    return alb in (fields[2], fields[2].split("/")[1] if fields[2].count("/") == 2 else None)


def _function_log(path: Path, follow: bool) -> None:
    """A function's log file as written, then (with -f) what is appended to it."""
    offset = 0
    try:
        while True:
            if path.is_file():
                with path.open("rb") as file:
                    file.seek(offset)
                    chunk = file.read()
                offset += len(chunk)
                typer.echo(chunk.decode(errors="replace"), nl=False)
            if not follow:
                return
            time.sleep(_POLL_SECONDS)
    except KeyboardInterrupt:
        pass


def task_log_dirs(logs_dir: Path, service: str) -> list[Path]:
    """The task log directories of the ECS service `service` (NAME in any cluster, or CLUSTER/NAME)."""
    root = logs_dir / "services"
    if not root.is_dir() or not service or service.startswith("/") or ".." in service.split("/"):
        return []
    pattern = service if "/" in service else f"*/{service}"
    return sorted(p for p in root.glob(pattern) if p.is_dir())


def _task_logs(directories: list[Path], follow: bool) -> None:
    """Every task log of the service, oldest task first, each line prefixed with its task ID; with -f, what is
    appended to them (and to the logs of tasks started later)."""
    offsets: dict[Path, int] = {}
    try:
        while True:
            files = sorted((f for d in directories for f in d.glob("*.log")), key=lambda f: f.stat().st_mtime_ns)
            for path in sorted(files, key=lambda f: f in offsets):
                _print_new_task_lines(path, offsets)
            if not follow:
                return
            time.sleep(_POLL_SECONDS)
    except KeyboardInterrupt:
        pass


def _print_new_task_lines(path: Path, offsets: dict[Path, int]) -> None:
    offset = offsets.get(path, 0)
    try:
        with path.open("rb") as file:
            file.seek(offset)
            chunk = file.read()
    except OSError:
        return
    complete = chunk[: chunk.rfind(b"\n") + 1]
    offsets[path] = offset + len(complete)
    for line in complete.decode(errors="replace").splitlines():
        typer.echo(f"[{path.stem}] {line}")
