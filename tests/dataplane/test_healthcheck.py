"""The health checker against real servers on 127.0.0.1: healthy, answering 500, hanging past the timeout, a
closed port, HTTPS with an expired self-signed certificate, HTTP/2 (h2c and TLS); the checker following snapshot
changes; and the wire helpers against the RFC 7541 examples."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from latticework.control.backend._health_config import complete_health_check
from latticework.dataplane.health import CheckConfig, CheckFailed, CheckPassed, TargetStatus
from latticework.dataplane.healthcheck import (
    USER_AGENT,
    HealthChange,
    HealthChecker,
    MalformedResponse,
    MemoryHealthSink,
    h2_request,
    h2_status,
    http1_status,
    probe,
)
from latticework.dataplane.snapshot import Snapshot, TargetGroupView, TargetView

SCALE = 0.04  # 5 s interval -> 200 ms; 1 s timeout -> 40 ms
FAST = {
    "healthCheckIntervalSeconds": 5,
    "healthCheckTimeoutSeconds": 5,
    "healthyThresholdCount": 2,
    "unhealthyThresholdCount": 2,
}
GROUP = "tg-0123456789abcdef0"


# -- targets: real servers on 127.0.0.1 -------------------------------------------------------------------------


class HttpTarget:
    """An HTTP/1.1 server that answers every request with `status`, or never answers while `hang` is set.
    It keeps the connection open after answering, so the test sees the checker close it."""

    def __init__(self, status: int = 200, *, hang: bool = False, raw: bytes | None = None) -> None:
        self.status, self.hang, self.raw = status, hang, raw
        self.requests: list[bytes] = []
        self.times: list[float] = []
        self.closed_by_client = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> HttpTarget:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    def paths(self) -> list[bytes]:
        return [r.split(b" ")[1] for r in self.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            self.times.append(time.monotonic())
            if self.hang:
                await asyncio.sleep(30)
            writer.write(self.raw or f"HTTP/1.1 {self.status} X\r\nContent-Length: 2\r\n\r\nok".encode())
            await writer.drain()
            if await reader.read(1) == b"":
                self.closed_by_client += 1
        writer.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def expired_self_signed(tmp_path: Path, alpn: list[str]) -> ssl.SSLContext:
    """A server context with a self-signed certificate that expired yesterday: Lattice does not verify."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired.example")])
    now = datetime.now(UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    builder = builder.serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=30))
    cert = builder.not_valid_after(now - timedelta(days=1)).sign(key, hashes.SHA256())
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    context.set_alpn_protocols(alpn)
    return context


def cfg(protocol: str = "HTTP", version: str | None = "HTTP1", timeout: float = 2.0, **kw: Any) -> CheckConfig:
    values: dict[str, Any] = {
        "protocol": protocol,
        "protocol_version": version,
        "port": None,
        "path": "/",
        "interval": 5.0,
        "timeout": timeout,
        "healthy_threshold": 2,
        "unhealthy_threshold": 2,
        "matcher": ((200, 200),) if protocol != "TCP" else (),
    }
    return CheckConfig(**(values | kw))


# -- one probe --------------------------------------------------------------------------------------------------


def test_probe_passes_on_a_matching_code_with_a_get_on_a_new_connection_closed_afterwards() -> None:
    async def scenario() -> None:
        target = await HttpTarget(200).start()
        config = cfg(path="/healthz?deep=1")
        assert await probe("127.0.0.1", target.port, config) == CheckPassed()
        assert await probe("127.0.0.1", target.port, config) == CheckPassed()
        await asyncio.sleep(0.05)
        await target.stop()
        assert len(target.requests) == 2  # two checks, two connections (one request each)
        assert target.closed_by_client == 2
        lines = target.requests[0].split(b"\r\n")
        assert lines[0] == b"GET /healthz?deep=1 HTTP/1.1"
        assert f"Host: 127.0.0.1:{target.port}".encode() in lines
        assert f"User-Agent: {USER_AGENT}".encode() in lines

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("status", "matcher", "expected"),
    [
        (500, ((200, 200),), CheckFailed("HealthCheckFailed")),
        (404, ((200, 200),), CheckFailed("HealthCheckFailed")),
        (404, ((200, 499),), CheckPassed()),
        (302, ((200, 299),), CheckFailed("HealthCheckFailed")),
    ],
)
def test_probe_fails_with_health_check_failed_on_a_code_outside_the_matcher(
    status: int, matcher: tuple[tuple[int, int], ...], expected: object
) -> None:
    async def scenario() -> object:
        target = await HttpTarget(status).start()
        try:
            return await probe("127.0.0.1", target.port, cfg(matcher=matcher))
        finally:
            await target.stop()

    assert asyncio.run(scenario()) == expected


def test_probe_times_out_on_a_target_that_never_answers() -> None:
    async def scenario() -> tuple[object, float]:
        target = await HttpTarget(hang=True).start()
        started = time.monotonic()
        outcome = await probe("127.0.0.1", target.port, cfg(), timeout=0.1)
        took = time.monotonic() - started
        await target.stop()
        return outcome, took

    outcome, took = asyncio.run(scenario())
    assert outcome == CheckFailed("Target.Timeout")
    assert 0.09 <= took < 1.0


@pytest.mark.parametrize(
    "raw",
    [b"SSH-2.0-OpenSSH_9.6\r\n", b"HTTP/1.1 20 OK\r\n\r\n", b"HTTP/2 200\r\n\r\n", b""],
    ids=["not-http", "two-digit-status", "wrong-version", "closed-at-once"],
)
def test_probe_fails_as_a_connection_error_when_the_answer_is_not_http(raw: bytes) -> None:
    async def scenario() -> object:
        target = await HttpTarget(raw=raw or b"\r\n").start()
        try:
            return await probe("127.0.0.1", target.port, cfg())
        finally:
            await target.stop()

    assert asyncio.run(scenario()) == CheckFailed("Target.FailedHealthChecks")


def test_probe_of_a_closed_port_is_a_connection_error() -> None:
    outcome = asyncio.run(probe("127.0.0.1", closed_port(), cfg()))
    assert outcome == CheckFailed("Target.FailedHealthChecks")


def test_tcp_check_passes_when_the_connection_opens() -> None:
    async def scenario() -> tuple[object, object]:
        target = await HttpTarget(hang=True).start()
        opened = await probe("127.0.0.1", target.port, cfg("TCP", None))
        await target.stop()
        return opened, await probe("127.0.0.1", closed_port(), cfg("TCP", None))

    assert asyncio.run(scenario()) == (CheckPassed(), CheckFailed("Target.FailedHealthChecks"))


def test_https_check_accepts_an_expired_self_signed_certificate(tmp_path: Path) -> None:
    async def scenario() -> object:
        target = await HttpTarget(200).start(expired_self_signed(tmp_path, ["http/1.1"]))
        try:
            return await probe("127.0.0.1", target.port, cfg("HTTPS"))
        finally:
            await target.stop()

    assert asyncio.run(scenario()) == CheckPassed()


def test_https_check_against_a_plain_http_target_fails_the_handshake() -> None:
    async def answer_400(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")  # what HTTP servers say to TLS
        await writer.drain()
        writer.close()

    async def scenario() -> object:
        server = await asyncio.start_server(answer_400, "127.0.0.1", 0)
        try:
            return await probe("127.0.0.1", server.sockets[0].getsockname()[1], cfg("HTTPS"))
        finally:
            server.close()

    assert asyncio.run(scenario()) == CheckFailed("Target.FailedHealthChecks")


# -- HTTP/2 checks against the h2 library's server ---------------------------------------------------------------


class H2Target:
    """An HTTP/2 server built on the `h2` library (an independent HPACK and framing implementation)."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.headers: list[dict[bytes, bytes]] = []
        self.port = 0

    async def start(self, tls: ssl.SSLContext | None = None) -> H2Target:
        self._h2 = (
            pytest.importorskip("h2.config"),
            pytest.importorskip("h2.connection"),
            pytest.importorskip("h2.events"),
        )
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        h2_config, h2_connection, h2_events = self._h2
        connection = h2_connection.H2Connection(h2_config.H2Configuration(client_side=False))
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                for event in connection.receive_data(data):
                    if isinstance(event, h2_events.RequestReceived):
                        self.headers.append(dict(event.headers))
                        reply = [(":status", str(self.status)), ("content-length", "0")]
                        connection.send_headers(event.stream_id, reply, end_stream=True)
                writer.write(connection.data_to_send())
                await writer.drain()
        writer.close()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, CheckPassed()),  # static table entry 8
        (204, CheckFailed("HealthCheckFailed")),  # static table entry 9
        (201, CheckFailed("HealthCheckFailed")),  # literal, Huffman-coded (shorter than the digits)
        (503, CheckFailed("HealthCheckFailed")),
    ],
)
@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "h2-tls"])
def test_http2_check_reads_status_from_a_real_http2_server(
    tmp_path: Path, status: int, expected: object, tls: bool
) -> None:
    pytest.importorskip("h2")

    async def scenario() -> tuple[object, dict[bytes, bytes]]:
        target = await H2Target(status).start(expired_self_signed(tmp_path, ["h2"]) if tls else None)
        config = cfg("HTTPS" if tls else "HTTP", "HTTP2", path="/grpc.health.v1.Health/Check")
        outcome = await probe("127.0.0.1", target.port, config)
        target._server.close()
        return outcome, target.headers[0]

    outcome, headers = asyncio.run(scenario())
    assert outcome == expected
    assert headers[b":method"] == b"GET"
    assert headers[b":path"] == b"/grpc.health.v1.Health/Check"
    assert headers[b":scheme"] == (b"https" if tls else b"http")
    assert headers[b"user-agent"] == USER_AGENT.encode()


def test_http2_matcher_accepts_a_huffman_coded_status_in_range() -> None:
    pytest.importorskip("h2")

    async def scenario() -> object:
        target = await H2Target(201).start()
        outcome = await probe("127.0.0.1", target.port, cfg(version="HTTP2", matcher=((200, 299),)))
        target._server.close()
        return outcome

    assert asyncio.run(scenario()) == CheckPassed()


def test_http2_check_of_an_http1_only_target_fails_at_once() -> None:
    """An HTTP/1.1 server answers the preface with a status line, not SETTINGS: a connection error, at once."""

    async def answer_400_and_wait(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await asyncio.sleep(30)  # and keep the connection open

    async def scenario() -> tuple[object, float]:
        server = await asyncio.start_server(answer_400_and_wait, "127.0.0.1", 0)
        started = time.monotonic()
        outcome = await probe("127.0.0.1", server.sockets[0].getsockname()[1], cfg(version="HTTP2", timeout=5))
        server.close()
        return outcome, time.monotonic() - started

    outcome, took = asyncio.run(scenario())
    assert outcome == CheckFailed("Target.FailedHealthChecks")
    assert took < 1.0


# -- wire helpers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "status"),
    [
        ("4803333032", 302),  # RFC 7541 C.5.1 (plain literal, incremental indexing, name index 8)
        ("4882640258", 302),  # RFC 7541 C.6.1 (the same, Huffman-coded), followed by more fields
        ("4883640eff", 307),  # RFC 7541 C.6.2
        ("88", 200),
        ("8d", 404),
        ("8e", 500),
        ("3fe11f88", 200),  # a dynamic table size update first (RFC 7541 6.3)
        ("0803343239", 429),  # literal without indexing
        ("1803353033", 503),  # literal never indexed
        ("4007" + b":status".hex() + "03323030", 200),  # literal name
    ],
)
def test_h2_status_decodes_the_first_response_header(block: str, status: int) -> None:
    assert h2_status(bytes.fromhex(block)) == status


@pytest.mark.parametrize(
    "block",
    ["", "82", "4003" + b"abc".hex() + "03323030", "4803323030"[:6], "48023230", "4883ffffff", "0f2b03323030"],
    ids=["empty", "method", "other-name", "cut-short", "two-digits", "huffman-non-digit", "user-agent"],
)
def test_h2_status_rejects_a_block_that_does_not_start_with_status(block: str) -> None:
    with pytest.raises(MalformedResponse):
        h2_status(bytes.fromhex(block))


def test_h2_request_is_a_preface_settings_and_one_get_stream() -> None:
    request = h2_request("127.0.0.1:8080", "/", https=False)
    assert request.startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"))
    headers = request[24 + 9 :]
    assert headers[3:5] == bytes([0x1, 0x5])  # HEADERS, END_STREAM | END_HEADERS
    assert int.from_bytes(headers[5:9], "big") == 1
    assert int.from_bytes(headers[:3], "big") == len(headers) - 9


@pytest.mark.parametrize(
    ("line", "status"),
    [(b"HTTP/1.1 200 OK\r\n", 200), (b"HTTP/1.0 503 Service Unavailable\r\n", 503), (b"HTTP/1.1 204\r\n", 204)],
)
def test_http1_status_line(line: bytes, status: int) -> None:
    assert http1_status(line) == status


@pytest.mark.parametrize("line", [b"", b"HTTP/1.1 200 OK", b"HTTP/1.1 099 X\r\n", b"ICY 200 OK\r\n"])
def test_http1_status_rejects_what_is_not_a_status_line(line: bytes) -> None:
    with pytest.raises(MalformedResponse):
        http1_status(line)


# -- the checker ------------------------------------------------------------------------------------------------


def view(
    targets: list[TargetView], check: dict[str, Any] | None = None, group_id: str = GROUP, kind: str = "IP"
) -> TargetGroupView:
    return TargetGroupView(
        id=group_id,
        arn=f"arn:aws:vpc-lattice:us-west-2:111122223333:targetgroup/{group_id}",
        type=kind,
        protocol="HTTP",
        protocol_version="HTTP1",
        port=80,
        health_check=MappingProxyType(complete_health_check({**FAST, **(check or {})}, "HTTP", "HTTP1")),
        lambda_event_version="V1",
        targets=tuple(targets),
    )


class Config:
    """A mutable holder of the current snapshot, as the data-plane server keeps one."""

    def __init__(self, *groups: TargetGroupView, used: set[str] | None = None) -> None:
        self.version = 0
        self.current = self.snapshot(list(groups), used)

    def snapshot(self, groups: list[TargetGroupView], used: set[str] | None = None) -> Snapshot:
        self.version += 1
        return Snapshot(
            version=self.version,
            services_by_host=MappingProxyType({}),
            target_groups=MappingProxyType({g.id: g for g in groups}),
            vpcs=MappingProxyType({}),
            network_auth=MappingProxyType({}),
            used_target_groups=frozenset(used if used is not None else {g.id for g in groups}),
        )

    def change(self, *groups: TargetGroupView, used: set[str] | None = None) -> None:
        self.current = self.snapshot(list(groups), used)


def target(port: int, status: str = "INITIAL") -> TargetView:
    return TargetView("127.0.0.1", port, status)


@contextlib.asynccontextmanager
async def running(
    config: Config, sink: MemoryHealthSink, address_of: Callable[[TargetGroupView, TargetView], Any] | None = None
) -> AsyncIterator[HealthChecker]:
    checker = HealthChecker(
        lambda: config.current,
        address_of or (lambda g, t: (t.id, t.port or 0)),
        sink,
        interval_scale=SCALE,
        poll_seconds=0.02,
        rng=random.Random(7),
    )
    task = asyncio.create_task(checker.run())
    try:
        yield checker
    finally:
        checker.stop()
        await asyncio.wait_for(task, 2)


async def until(condition: Callable[[], bool], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def changes(sink: MemoryHealthSink, port: int) -> list[tuple[str, str | None]]:
    return [(c.status, c.reason) for c in sink.changes if c.target.port == port]


def status_of(checker: HealthChecker, key: str, group_id: str = GROUP) -> str | None:
    health = checker.status(group_id, key)
    return health.status.value if health else None


def test_checker_marks_healthy_500_hanging_and_closed_targets_with_their_reasons() -> None:
    async def scenario() -> None:
        ok, failing = await HttpTarget(200).start(), await HttpTarget(500).start()
        hanging, gone = await HttpTarget(hang=True).start(), closed_port()
        group = view([target(p) for p in (ok.port, failing.port, hanging.port, gone)], {"healthCheckTimeoutSeconds": 1})
        sink = MemoryHealthSink()
        async with running(Config(group), sink) as checker:
            await until(lambda: all(status_of(checker, t.key) not in (None, "INITIAL") for t in group.targets))
            assert checker.healthy(group) == frozenset({f"127.0.0.1:{ok.port}"})
        assert changes(sink, ok.port) == [("HEALTHY", None)]
        assert changes(sink, failing.port) == [("UNHEALTHY", "HealthCheckFailed")]
        assert changes(sink, hanging.port) == [("UNHEALTHY", "Target.Timeout")]
        assert changes(sink, gone) == [("UNHEALTHY", "Target.FailedHealthChecks")]
        assert len(failing.requests) >= 2  # unhealthyThresholdCount = 2 failures first

    asyncio.run(scenario())


def test_a_target_recovers_after_healthy_threshold_passes_and_drops_after_unhealthy_threshold_failures() -> None:
    async def scenario() -> None:
        server = await HttpTarget(200).start()
        group = view([target(server.port)], {"healthyThresholdCount": 3})
        key = f"127.0.0.1:{server.port}"
        sink = MemoryHealthSink()
        async with running(Config(group), sink) as checker:
            await until(lambda: checker.healthy(group) == {key})
            assert len(server.requests) == 1  # one check is enough for a new target
            server.status = 500
            await until(lambda: checker.healthy(group) == frozenset())
            failed_at = len(server.requests)
            server.status = 200
            await until(lambda: checker.healthy(group) == {key})
            assert len(server.requests) - failed_at == 3  # healthyThresholdCount passes
        assert changes(sink, server.port) == [("HEALTHY", None), ("UNHEALTHY", "HealthCheckFailed"), ("HEALTHY", None)]

    asyncio.run(scenario())


def test_one_check_per_target_per_interval() -> None:
    async def scenario() -> int:
        server = await HttpTarget(200).start()
        async with running(Config(view([target(server.port)])), MemoryHealthSink()):
            await until(lambda: len(server.requests) == 1)
            await asyncio.sleep(1.0)  # five intervals of 200 ms (+-10% jitter)
        return len(server.requests) - 1

    assert 4 <= asyncio.run(scenario()) <= 6


def test_first_checks_of_many_targets_are_spread() -> None:
    async def scenario() -> list[float]:
        servers = [await HttpTarget(200).start() for _ in range(12)]
        async with running(Config(view([target(s.port) for s in servers])), MemoryHealthSink()):
            await until(lambda: all(s.requests for s in servers))
        return [s.times[0] for s in servers]

    firsts = asyncio.run(scenario())
    assert max(firsts) - min(firsts) > 0.02  # spread over up to 2 s x SCALE = 80 ms, not all at once


class _SwallowingChecker(HealthChecker):
    """A check that swallows its cancel and returns, as asyncio.wait_for can on Python 3.11 when the cancel
    lands while the awaited check completes."""

    async def _check(self, checked: Any) -> Any:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(5)  # a check still in flight when stop() comes
        return CheckPassed()


def test_stop_ends_every_check_loop_even_when_a_cancel_is_swallowed() -> None:
    async def scenario() -> None:
        checker = _SwallowingChecker(
            lambda: Config(view([target(1), target(2)])).current,
            lambda g, t: (t.id, t.port or 0),
            MemoryHealthSink(),
            interval_scale=SCALE,
            poll_seconds=0.02,
        )
        task = asyncio.create_task(checker.run())
        await asyncio.sleep(0.5)  # both first checks have started (they are spread over 2 s x SCALE)
        checker.stop()
        await asyncio.wait_for(task, 2)  # before the fix: the loop that lost its cancel ran on, and this timed out
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    asyncio.run(scenario())


def test_groups_without_checks_count_every_target_but_draining_as_healthy_and_are_never_checked() -> None:
    async def scenario() -> None:
        server = await HttpTarget(200).start()
        targets = [target(server.port), TargetView("127.0.0.1", 1, "DRAINING")]
        disabled = view(targets, {"enabled": False})
        unused = view(targets, group_id="tg-unused0000000000")
        function = TargetView("arn:aws:lambda:us-west-2:111122223333:function:f", None, "UNAVAILABLE")
        lambda_group = dataclasses.replace(view([function]), type="LAMBDA", health_check=MappingProxyType({}))
        sink = MemoryHealthSink()
        async with running(Config(disabled, unused, used={disabled.id}), sink) as checker:
            await asyncio.sleep(0.3)
            assert checker.healthy(disabled) == frozenset({f"127.0.0.1:{server.port}"})
            assert checker.healthy(unused) == frozenset()  # checks on but nothing checked yet: decide() fails open
            assert checker.healthy(lambda_group) == frozenset({function.key})
        assert server.requests == []
        assert sink.changes == []

    asyncio.run(scenario())


def test_checker_follows_snapshot_changes() -> None:
    async def scenario() -> None:
        first, second = await HttpTarget(200).start(), await HttpTarget(200).start()
        one, two = target(first.port), target(second.port)
        config = Config(view([one]))
        sink = MemoryHealthSink()
        async with running(config, sink) as checker:
            await until(lambda: checker.healthy(config.current.target_groups[GROUP]) == {one.key})
            # a new target is checked
            config.change(view([one, two]))
            await until(lambda: checker.healthy(config.current.target_groups[GROUP]) == {one.key, two.key})
            # a deregistered (DRAINING) target is no longer checked, and nothing is recorded for it
            config.change(view([one, TargetView("127.0.0.1", second.port, "DRAINING")]))
            await asyncio.sleep(0.05)
            checked = len(second.requests)
            await asyncio.sleep(0.5)
            assert len(second.requests) == checked
            # a config change takes effect: the new path is what gets checked
            config.change(view([one], {"path": "/ready"}))
            await until(lambda: first.paths()[-1:] == [b"/ready"])
            # checks disabled: the target is recorded INITIAL again, and counts as healthy (UNAVAILABLE)
            config.change(view([one], {"enabled": False}))
            await until(lambda: changes(sink, first.port)[-1:] == [("INITIAL", None)])
        assert changes(sink, first.port) == [("HEALTHY", None), ("INITIAL", None)]
        assert changes(sink, second.port) == [("HEALTHY", None)]

    asyncio.run(scenario())


def test_a_group_no_longer_used_stops_being_checked_and_starts_over_when_used_again() -> None:
    async def scenario() -> None:
        server = await HttpTarget(200).start()
        group = view([target(server.port)])
        config = Config(group)
        sink = MemoryHealthSink()
        async with running(config, sink) as checker:
            await until(lambda: checker.healthy(group) == {target(server.port).key})
            config.change(group, used=set())
            await until(lambda: len(sink.changes) == 2)
            assert checker.status(GROUP, target(server.port).key) is None
            config.change(group)
            await until(lambda: len(sink.changes) == 3)
        assert changes(sink, server.port) == [("HEALTHY", None), ("INITIAL", None), ("HEALTHY", None)]

    asyncio.run(scenario())


def test_a_stored_status_is_where_checking_resumes() -> None:
    """After a restart the checker starts from the status last written: HEALTHY stays routable until
    unhealthyThresholdCount checks fail."""

    async def scenario() -> None:
        gone = closed_port()
        group = view([target(gone, "HEALTHY")])
        sink = MemoryHealthSink()
        async with running(Config(group), sink) as checker:
            await until(lambda: checker.status(GROUP, f"127.0.0.1:{gone}") is not None)
            assert checker.healthy(group) == {f"127.0.0.1:{gone}"}
            await until(lambda: checker.healthy(group) == frozenset())
        assert [c.status for c in sink.changes] == ["UNHEALTHY"]

    asyncio.run(scenario())


def test_a_target_registered_again_starts_over() -> None:
    """Deregistered and registered again between two snapshots the checker saw: the stored status went from
    HEALTHY back to INITIAL, so the checker forgets its state and the next passing check records HEALTHY."""

    async def scenario() -> None:
        server = await HttpTarget(200).start()
        key = target(server.port).key
        config = Config(view([target(server.port)]))
        sink = MemoryHealthSink()
        async with running(config, sink) as checker:
            await until(lambda: len(sink.changes) == 1)
            config.change(view([target(server.port, "HEALTHY")]))  # the write landed in the store
            await asyncio.sleep(0.05)
            config.change(view([target(server.port, "INITIAL")]))  # RegisterTargets after DeregisterTargets
            await until(lambda: len(sink.changes) == 2)
            assert checker.healthy(config.current.target_groups[GROUP]) == {key}
        assert changes(sink, server.port) == [("HEALTHY", None), ("HEALTHY", None)]

    asyncio.run(scenario())


def test_check_port_and_address_of() -> None:
    """The check goes to address_of's host and the configured port; no address means a connection error."""

    async def scenario() -> None:
        server = await HttpTarget(200).start()
        checked = view([TargetView("i-0123456789abcdef0", closed_port(), "INITIAL")], {"port": server.port})
        unknown = view([TargetView("i-0fedcba9876543210", 80, "INITIAL")], group_id="tg-unknown000000000")
        addresses = {"i-0123456789abcdef0": "127.0.0.1"}

        def address_of(group: TargetGroupView, target: TargetView) -> tuple[str, int] | None:
            host = addresses.get(target.id)
            return (host, target.port or 0) if host else None

        sink = MemoryHealthSink()
        async with running(Config(checked, unknown), sink, address_of):
            await until(lambda: len(sink.changes) == 2)
        assert {(c.target_group_id, c.status, c.reason) for c in sink.changes} == {
            (GROUP, "HEALTHY", None),
            ("tg-unknown000000000", "UNHEALTHY", "Target.FailedHealthChecks"),
        }
        assert f"Host: 127.0.0.1:{server.port}".encode() in server.requests[0]

    asyncio.run(scenario())


def test_stop_cancels_checks_in_flight() -> None:
    async def scenario() -> float:
        server = await HttpTarget(hang=True).start()
        group = view([target(server.port)], {"healthCheckTimeoutSeconds": 120})
        async with running(Config(group), MemoryHealthSink()):
            await until(lambda: len(server.requests) == 1)
            stopping = time.monotonic()
        return time.monotonic() - stopping

    assert asyncio.run(scenario()) < 0.5


def test_a_failing_sink_does_not_stop_the_checks() -> None:
    class Broken(MemoryHealthSink):
        def record(self, target_group_id: str, target: TargetView, status: str, reason: str | None) -> None:
            super().record(target_group_id, target, status, reason)
            raise RuntimeError("store is down")

    async def scenario() -> list[HealthChange]:
        server = await HttpTarget(200).start()
        sink = Broken()
        async with running(Config(view([target(server.port)])), sink) as checker:
            await until(lambda: checker.healthy(view([target(server.port)])) != frozenset())
            server.status = 500
            await until(lambda: len(sink.changes) == 2)
        return sink.changes

    assert [c.status for c in asyncio.run(scenario())] == [TargetStatus.HEALTHY, TargetStatus.UNHEALTHY]
