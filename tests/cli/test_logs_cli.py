"""`latticework logs`: records from every destination merged by startTime, filters, --pretty, and the
non-blocking follow step (`poll_new_lines`)."""

from __future__ import annotations

import json
import time
from calendar import timegm
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from latticework.cli.logs import FollowState, alb_line_matches, logs, parse_records, poll_new_lines, service_matches
from latticework.dataplane.logsink import AccessLogSink

ACCOUNT = "111122223333"
REGION = "us-west-2"
SVC_A = "svc-0aaaaaaaaaaaaaaaa"
SVC_B = "svc-0bbbbbbbbbbbbbbbb"
GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:lattice"
BUCKET = "arn:aws:s3:::lattice-logs"
STREAM = f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/lattice"
T0 = timegm((2024, 8, 4, 11, 28, 40))

app = typer.Typer()
app.command("logs")(logs)


@app.callback()
def _root() -> None:
    """Keeps `logs` a subcommand, as in `latticework logs`."""


def _record(service_id: str, second: int, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "serviceArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:service/{service_id}",
        "hostHeader": f"{'orders' if service_id == SVC_A else 'users'}-{service_id[4:]}.7d67968.vpc-lattice-svcs"
        f".{REGION}.on.aws",
        "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + second)),
        "requestMethod": "GET",
        "requestPath": path,
        "responseCode": 200,
        "duration": 12,
        "targetIpPort": "127.0.0.1:8080",
        "failureReason": "-",
        "requestId": f"{service_id}{path}{second}",
        **extra,
    }


def _write(logs_dir: Path, destinations: list[str], resource_id: str, record: dict[str, Any]) -> None:
    with AccessLogSink(logs_dir) as sink:
        sink.write(destinations, resource_id, ACCOUNT, REGION, record, T0)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    logs_dir = tmp_path / "logs"
    # Written out of order, spread over three destination types; one record in two destinations.
    _write(logs_dir, [STREAM], SVC_B, _record(SVC_B, 3, "/third"))
    _write(logs_dir, [GROUP, BUCKET], SVC_A, _record(SVC_A, 1, "/first"))
    _write(logs_dir, [BUCKET], SVC_A, _record(SVC_A, 2, "/second", responseCode=503))
    return tmp_path


def _paths(output: str) -> list[str]:
    return [json.loads(line)["requestPath"] for line in output.splitlines()]


def test_prints_all_destinations_merged_by_start_time_once_each(state_dir: Path) -> None:
    """Every destination's records, oldest first, each once, one JSON object per line."""
    result = CliRunner().invoke(app, ["logs", "--state-dir", str(state_dir)])
    assert result.exit_code == 0, result.output
    assert _paths(result.output) == ["/first", "/second", "/third"]


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (SVC_A, ["/first", "/second"]),
        (f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:service/{SVC_B}", ["/third"]),
        ("users", ["/third"]),
        ("orders", ["/first", "/second"]),
        ("svc-0cccccccccccccccc", []),
    ],
)
def test_service_filter(state_dir: Path, wanted: str, expected: list[str]) -> None:
    """--service takes a service ID, ARN or name."""
    result = CliRunner().invoke(app, ["logs", "--state-dir", str(state_dir), "--service", wanted])
    assert result.exit_code == 0, result.output
    assert _paths(result.output) == expected


def test_since_filter(tmp_path: Path) -> None:
    """--since SECONDS keeps only records that started that recently."""
    now = time.time()
    old = {"startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)), "requestPath": "/old"}
    new = {"startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 5)), "requestPath": "/new"}
    _write(tmp_path / "logs", [STREAM], SVC_A, old)
    _write(tmp_path / "logs", [STREAM], SVC_A, new)
    result = CliRunner().invoke(app, ["logs", "--state-dir", str(tmp_path), "--since", "60"])
    assert result.exit_code == 0, result.output
    assert _paths(result.output) == ["/new"]


def test_pretty_table(state_dir: Path) -> None:
    """--pretty prints an aligned table: a header, then one row per record in time order."""
    result = CliRunner().invoke(app, ["logs", "--state-dir", str(state_dir), "--pretty"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["time", "method", "host", "path", "status", "duration", "target", "failureReason"]
    assert len(lines) == 4
    assert lines[2].split()[:2] == ["2024-08-04T11:28:42Z", "GET"]
    assert "/second" in lines[2] and "503" in lines[2] and "12 ms" in lines[2]
    # Aligned: the path column starts at the same place on every row.
    assert len({line.index("/") for line in lines[1:]}) == 1


def test_no_logs_yet(tmp_path: Path) -> None:
    """A state dir without logs prints nothing and succeeds."""
    result = CliRunner().invoke(app, ["logs", "--state-dir", str(tmp_path)])
    assert (result.exit_code, result.output) == (0, "")


def test_follow_returns_only_new_complete_lines(tmp_path: Path) -> None:
    """Each poll returns the lines appended since the last one, from old and newly created files alike."""
    logs_dir = tmp_path / "logs"
    state = FollowState(logs_dir)
    assert poll_new_lines(state) == []  # no logs directory yet: nothing, no error
    _write(logs_dir, [STREAM], SVC_A, {"n": 1})
    assert [json.loads(line) for line in poll_new_lines(state)] == [{"n": 1}]
    assert poll_new_lines(state) == []
    _write(logs_dir, [STREAM], SVC_A, {"n": 2})
    _write(logs_dir, [GROUP], SVC_B, {"n": 3})  # a file created after following began
    assert sorted(json.loads(line)["n"] for line in poll_new_lines(state)) == [2, 3]


def test_follow_waits_for_the_end_of_a_partial_line(tmp_path: Path) -> None:
    """A line still being written is returned only once its newline arrives."""
    path = tmp_path / "firehose" / "x.log"
    path.parent.mkdir(parents=True)
    path.write_text('{"n": 1}\n{"n"')
    state = FollowState(tmp_path)
    assert poll_new_lines(state) == ['{"n": 1}']
    with path.open("a") as file:
        file.write(": 2}\n")
    assert poll_new_lines(state) == ['{"n": 2}']


def test_follow_rereads_a_truncated_file(tmp_path: Path) -> None:
    """A file that shrank (rotated or truncated) is read again from its start."""
    path = tmp_path / "cloudwatch" / "x.log"
    path.parent.mkdir(parents=True)
    path.write_text('{"n": 1}\n{"n": 2}\n')
    state = FollowState(tmp_path)
    assert len(poll_new_lines(state)) == 2
    path.write_text('{"n": 3}\n')
    assert poll_new_lines(state) == ['{"n": 3}']


def test_follow_drops_duplicates_across_destinations(tmp_path: Path) -> None:
    """The same record delivered to two destinations comes back once."""
    state = FollowState(tmp_path / "logs")
    _write(tmp_path / "logs", [GROUP, STREAM, BUCKET], SVC_A, {"n": 1})
    assert poll_new_lines(state) == ['{"n":1}']


def test_parse_records_skips_non_objects_and_sorts_stably() -> None:
    """Lines that are not JSON objects are skipped; equal startTimes keep their order."""
    lines = [
        '{"startTime": "2024-01-01T00:00:02Z", "n": 1}',
        "not json",
        "[1]",
        '{"startTime": "2024-01-01T00:00:01Z"}',
    ]
    lines.append('{"startTime": "2024-01-01T00:00:02Z", "n": 2}')
    assert [record.get("n") for _, record in parse_records(lines)] == [None, 1, 2]


@pytest.mark.parametrize(
    ("record", "wanted", "matches"),
    [
        ({"serviceArn": "-"}, "svc-1", False),
        ({"serviceArn": "arn:aws:vpc-lattice:r:1:service/svc-0ab", "hostHeader": "api.example.com"}, "api", False),
        ({"serviceArn": "arn:aws:vpc-lattice:r:1:service/svc-0ab", "hostHeader": "API-0ab.x.on.aws:443"}, "api", True),
        ({"serviceArn": "arn:aws:vpc-lattice:r:1:service/svc-0ab", "hostHeader": "api-0ac.x.on.aws"}, "api", False),
    ],
)
def test_service_matches_by_generated_name(record: dict[str, Any], wanted: str, matches: bool) -> None:
    """A name matches through the generated DNS name (name-<id>), case-insensitively, port ignored."""
    assert service_matches(record, wanted) is matches


@pytest.mark.parametrize(
    ("line", "alb", "expected"),
    [
        ("http 2026-12-05T01:38:31Z app/web/874e50f70b88e99d 1.2.3.4:5 - -1", "web", True),
        ("https 2026-12-05T01:38:31Z app/web/874e50f70b88e99d 1.2.3.4:5 - -1", "app/web/874e50f70b88e99d", True),
        ("http 2026-12-05T01:38:31Z app/web-2/874e50f70b88e99d 1.2.3.4:5 - -1", "web", False),
        ('{"startTime": "x", "serviceArn": "web"}', "web", False),  # a Lattice record, not ELB's syntax
        ("http web", "web", False),
    ],
)
def test_alb_line_matches(line: str, alb: str, expected: bool) -> None:
    assert alb_line_matches(line, alb) is expected
