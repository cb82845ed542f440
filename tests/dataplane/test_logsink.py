"""The access log sink on real files: JSON lines, buffering limits, nothing lost on close, and whole lines only
when several sinks (threads, processes) append to the same file."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path
from typing import Any

from latticework.dataplane.accesslog import destination_path
from latticework.dataplane.logsink import AccessLogSink

ACCOUNT = "111122223333"
REGION = "us-west-2"
GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:lattice"
BUCKET = "arn:aws:s3:::lattice-logs/prod"
STREAM = f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/lattice"
NOW = 1_722_770_920.0  # 2024-08-04T11:28:40Z


def _record(n: int, **extra: Any) -> dict[str, Any]:
    return {"requestId": f"req-{n}", "requestPath": f"/items/{n}", "responseCode": 200, **extra}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_land_in_every_destination_as_json_lines(tmp_path: Path) -> None:
    """One write reaches each destination's file; each line is one JSON object."""
    with AccessLogSink(tmp_path) as sink:
        sink.write([GROUP, BUCKET, STREAM], "svc-1", ACCOUNT, REGION, _record(1, userAgent='say "hi"\n'), NOW)
    for arn in (GROUP, BUCKET, STREAM):
        path = tmp_path / destination_path(arn, "svc-1", ACCOUNT, REGION, NOW)
        assert _lines(path) == [_record(1, userAgent='say "hi"\n')]
    assert (tmp_path / f"cloudwatch/{ACCOUNT}/{REGION}/lattice/svc-1.log").is_file()
    assert (tmp_path / f"firehose/{ACCOUNT}/{REGION}/lattice.log").is_file()


def test_buffered_until_due(tmp_path: Path) -> None:
    """Lines wait in memory until the oldest is 100 ms old, then one flush appends them all."""
    sink = AccessLogSink(tmp_path)
    path = tmp_path / destination_path(STREAM, "svc-1", ACCOUNT, REGION, NOW)
    sink.write([STREAM], "svc-1", ACCOUNT, REGION, _record(1), NOW)
    sink.write([STREAM], "svc-1", ACCOUNT, REGION, _record(2), NOW + 0.05)
    assert not path.exists()
    assert sink.flush_if_due(NOW + 0.099) is False
    assert sink.pending_bytes > 0
    assert sink.flush_if_due(NOW + 0.1001) is True
    assert [r["requestId"] for r in _lines(path)] == ["req-1", "req-2"]
    assert sink.pending_bytes == 0


def test_write_flushes_when_the_buffer_reaches_256_kib(tmp_path: Path) -> None:
    """A buffer of 256 KiB (the default `max_bytes`) is written at once, without waiting for the delay."""
    sink = AccessLogSink(tmp_path)
    path = tmp_path / destination_path(STREAM, "svc-1", ACCOUNT, REGION, NOW)
    big = "x" * 4000
    n = 0
    while not path.exists():
        n += 1
        assert n <= 65, "256 KiB buffered and still not written"
        sink.write([STREAM], "svc-1", ACCOUNT, REGION, _record(n, pad=big), NOW)
    assert len(_lines(path)) == n == 65  # each line is a little over 4000 bytes


def test_close_loses_nothing(tmp_path: Path) -> None:
    """close() writes whatever is still buffered."""
    sink = AccessLogSink(tmp_path, max_delay=3600)
    for n in range(500):
        sink.write([GROUP, STREAM], f"svc-{n % 3}", ACCOUNT, REGION, _record(n), NOW)
    sink.close()
    ids = [r["requestId"] for p in tmp_path.rglob("*.log") for r in _lines(p)]
    assert sorted(ids) == sorted([f"req-{n}" for n in range(500)] * 2)


def test_appends_to_existing_files_and_recreates_deleted_directories(tmp_path: Path) -> None:
    """Later flushes append; a logs directory removed in between is created again."""
    sink = AccessLogSink(tmp_path)
    path = tmp_path / destination_path(STREAM, "svc-1", ACCOUNT, REGION, NOW)
    sink.write([STREAM], "svc-1", ACCOUNT, REGION, _record(1), NOW)
    sink.flush()
    sink.write([STREAM], "svc-1", ACCOUNT, REGION, _record(2), NOW)
    sink.flush()
    assert [r["requestId"] for r in _lines(path)] == ["req-1", "req-2"]
    path.unlink()
    path.parent.rmdir()
    sink.write([STREAM], "svc-1", ACCOUNT, REGION, _record(3), NOW)
    sink.flush()
    assert [r["requestId"] for r in _lines(path)] == ["req-3"]


def test_unsupported_destination_is_skipped_and_remembered(tmp_path: Path) -> None:
    """An ARN Lattice cannot deliver to is skipped; the other destinations still get the record."""
    sink = AccessLogSink(tmp_path)
    sqs = f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue"
    sink.write([sqs, STREAM], "svc-1", ACCOUNT, REGION, _record(1), NOW)
    sink.close()
    assert sink.unsupported_destinations == {sqs}
    assert len(list(tmp_path.rglob("*.log"))) == 1


def test_write_errors_drop_the_batch_and_are_counted(tmp_path: Path) -> None:
    """A logs directory that cannot be written never raises into the relay: lines are counted as dropped."""
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the logs directory should be")
    sink = AccessLogSink(blocker)
    sink.write([STREAM, GROUP], "svc-1", ACCOUNT, REGION, _record(1), NOW)
    sink.close()
    assert sink.dropped_lines == 2
    assert isinstance(sink.last_error, OSError)
    assert sink.pending_bytes == 0


# Lines of ~6 KB make each flush a ~64 KiB write: an append that were not atomic would tear lines.
PAD = "y" * 6000
PER_WRITER = 300


def _write_many(logs_dir: str, writer: int) -> None:
    sink = AccessLogSink(Path(logs_dir))
    for n in range(PER_WRITER):
        sink.write([STREAM], "svc-1", ACCOUNT, REGION, _record(n, writer=writer, pad=PAD), NOW + n / 1000)
    sink.close()


def _check_whole_lines(logs_dir: Path, writers: int) -> None:
    path = logs_dir / destination_path(STREAM, "svc-1", ACCOUNT, REGION, NOW)
    seen: dict[int, list[int]] = {w: [] for w in range(writers)}
    for record in _lines(path):  # json.loads fails on any torn or interleaved line
        assert record["pad"] == PAD
        seen[record["writer"]].append(int(record["requestId"].removeprefix("req-")))
    # Each writer's lines are all there, in its own order.
    assert seen == {w: list(range(PER_WRITER)) for w in range(writers)}


def test_threads_interleave_only_whole_lines(tmp_path: Path) -> None:
    """Four sinks in four threads appending to one file: every line whole, none lost."""
    threads = [threading.Thread(target=_write_many, args=(str(tmp_path), w)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _check_whole_lines(tmp_path, 4)


def test_processes_interleave_only_whole_lines(tmp_path: Path) -> None:
    """Three worker processes, each with its own sink, appending to one file: every line whole, none lost."""
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_many, args=(str(tmp_path), w)) for w in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    _check_whole_lines(tmp_path, 3)


def test_a_ready_line_is_written_as_given_to_each_destination(tmp_path: Path) -> None:
    """`write` takes the bytes of `accesslog.access_line` as they are (no second encoding)."""
    line = b'{"requestId":"req-1","userAgent":"caf\xc3\xa9"}\n'
    with AccessLogSink(tmp_path) as sink:
        sink.write([GROUP, STREAM], "svc-1", ACCOUNT, REGION, line, NOW)
    for arn in (GROUP, STREAM):
        assert (tmp_path / destination_path(arn, "svc-1", ACCOUNT, REGION, NOW)).read_bytes() == line


def test_s3_records_move_to_the_next_object_when_the_window_turns(tmp_path: Path) -> None:
    """The per-destination file cache still follows S3's five-minute objects."""
    with AccessLogSink(tmp_path) as sink:
        sink.write([BUCKET], "svc-1", ACCOUNT, REGION, _record(1), NOW)
        sink.write([BUCKET], "svc-1", ACCOUNT, REGION, _record(2), NOW + 300)
    first, second = (destination_path(BUCKET, "svc-1", ACCOUNT, REGION, t) for t in (NOW, NOW + 300))
    assert first != second
    assert [r["requestId"] for r in _lines(tmp_path / first)] == ["req-1"]
    assert [r["requestId"] for r in _lines(tmp_path / second)] == ["req-2"]
