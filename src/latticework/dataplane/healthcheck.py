"""The health checker: active checks of the targets of used target groups, one new connection per check, and
the per-group set of HEALTHY targets the relay routes to. I/O module: asyncio streams and ssl; the decisions
(effective config, outcome of a check, state transitions) are `health`'s.

Follows the config snapshot (targets and groups that appear, go, or change their check) and reports every
change of a target's (status, reasonCode) to a HealthSink. Lattice User Guide, "Health checks for your VPC
Lattice target groups": a check every HealthCheckIntervalSeconds per target, each "independent", the time a
target takes to answer not moving the next check; "after each health check is completed, the service closes the
connection that was established for the health check"; HTTPS checks, like HTTPS traffic, do not verify the
target's certificate (reference 2.3). Checks are spread: a new target is first checked within a short random
delay, and each interval is jittered by +-10% so the checks of many targets drift apart.

A check sends (HTTP/1.1)

    GET <path> HTTP/1.1 / Host: <target ip>:<check port> / User-Agent: USER_AGENT / Connection: close

and reads the status line; with protocolVersion HTTP2 it speaks HTTP/2 (prior knowledge over TCP, ALPN "h2"
over TLS) just far enough to read `:status`. A TCP check passes when the connection opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import re
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from latticework.dataplane.health import (
    CheckConfig,
    CheckedTarget,
    CheckError,
    CheckEvent,
    TargetHealth,
    TargetStatus,
    advance,
    check_outcome,
    checked_targets,
    healthy_from_stored,
    registered_again,
    seed,
)
from latticework.dataplane.snapshot import Snapshot, TargetGroupView, TargetView

__all__ = [
    "USER_AGENT",
    "HealthChange",
    "HealthChecker",
    "HealthSink",
    "MalformedResponse",
    "MemoryHealthSink",
    "h2_request",
    "h2_status",
    "http1_request",
    "http1_status",
    "probe",
]

_log = logging.getLogger(__name__)

# Lattice does not document its checker's User-Agent; this follows ELB's documented "ELB-HealthChecker/2.0".
USER_AGENT = "Amazon-VPC-Lattice-HealthChecker/1.0"
_FIRST_CHECK_SPREAD = 2.0  # seconds: a new target is checked this soon at most, not a whole interval later
_JITTER = 0.1
_MAX_CONCURRENT_CHECKS = 128
_MAX_H2_FRAME = 1 << 24

AddressOf = Callable[[TargetGroupView, TargetView], tuple[str, int] | None]


class MalformedResponse(Exception):
    """The target answered, but not with the HTTP the check speaks."""


# -- where changes go -------------------------------------------------------------------------------------------


class HealthSink(ABC):
    """Told each time a target's (status, reasonCode) changes; the store-backed sink writes them into the target
    record, where ListTargets reads them. Called on the checker's event loop: it must not block for long."""

    @abstractmethod
    def record(self, target_group_id: str, target: TargetView, status: str, reason: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class HealthChange:
    target_group_id: str
    target: TargetView
    status: str
    reason: str | None


class MemoryHealthSink(HealthSink):
    """Keeps every change in order, in memory."""

    def __init__(self) -> None:
        self.changes: list[HealthChange] = []

    def record(self, target_group_id: str, target: TargetView, status: str, reason: str | None) -> None:
        self.changes.append(HealthChange(target_group_id, target, status, reason))

    def latest(self, target_group_id: str, key: str) -> tuple[str, str | None] | None:
        """The last (status, reason) recorded for the target "id:port" of this group, if any."""
        for change in reversed(self.changes):
            if change.target_group_id == target_group_id and change.target.key == key:
                return change.status, change.reason
        return None


# -- the checker ------------------------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Watched:
    checked: CheckedTarget
    health: TargetHealth
    task: asyncio.Task[None] | None = None


class HealthChecker:
    """Checks the targets of the current snapshot and knows which are HEALTHY.

    `snapshot()` returns the current config snapshot (polled every `poll_seconds`, and by `reconcile()`);
    `address_of(group, target)` gives the (host, traffic port) to check, or None when the target cannot be
    reached (the check then fails as a connection error). `interval_scale` multiplies every interval, timeout
    and spread (tests use a small one; the config minimum interval is 5 s). `clock` must advance with real time.
    """

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        address_of: AddressOf,
        sink: HealthSink,
        clock: Callable[[], float] = time.monotonic,
        *,
        interval_scale: float = 1.0,
        poll_seconds: float = 1.0,
        rng: random.Random | None = None,
        max_concurrent_checks: int = _MAX_CONCURRENT_CHECKS,
    ) -> None:
        self._snapshot = snapshot
        self._address_of = address_of
        self._sink = sink
        self._clock = clock
        self._scale = interval_scale
        self._poll = poll_seconds
        self._rng = rng or random.Random()
        self._limit = asyncio.Semaphore(max_concurrent_checks)
        self._stopping = asyncio.Event()
        self._seen: Snapshot | None = None
        self._groups: dict[str, dict[str, _Watched]] = {}  # group ID -> "id:port" -> watched target
        self._healthy: dict[str, frozenset[str]] = {}
        self._stored: dict[str, tuple[TargetGroupView, frozenset[str]]] = {}

    async def run(self) -> None:
        """Check until stop(); then cancel every check in flight."""
        try:
            while not self._stopping.is_set():
                try:
                    self.reconcile()
                except Exception:  # a bad snapshot must not end health checking; the next one may be fine
                    _log.exception("health checker could not follow the config snapshot")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._poll)
        finally:
            await self._cancel_all()

    def stop(self) -> None:
        self._stopping.set()

    def healthy(self, group: TargetGroupView) -> frozenset[str]:
        """The "id:port" keys the relay may treat as healthy in this group.

        Checked groups: the HEALTHY targets (none while all are INITIAL, so decide()'s fail-open routes to all).
        Groups without checks (disabled, LAMBDA, ALB: targets read UNAVAILABLE): every target that is not
        DRAINING, since Lattice routes to targets whose health is unknown rather than to none. A checked group
        the checker has not picked up yet: what is stored (`health.healthy_from_stored`).
        """
        checked = self._healthy.get(group.id)
        if checked is not None:
            return checked
        cached = self._stored.get(group.id)
        if cached is None or cached[0] is not group:  # computed once per group view, not per request
            cached = self._stored[group.id] = (group, healthy_from_stored(group))
        return cached[1]

    def status(self, target_group_id: str, key: str) -> TargetHealth | None:
        """The machine state of one checked target, or None if it is not being checked."""
        watched = self._groups.get(target_group_id, {}).get(key)
        return watched.health if watched else None

    def reconcile(self) -> None:
        """Catch up with the current snapshot at once (the relay may call this right after swapping it)."""
        snapshot = self._snapshot()
        if snapshot is self._seen:
            return
        self._seen = snapshot
        wanted = checked_targets(snapshot)
        gone = [(g, k) for g, keys in self._groups.items() for k in keys if (g, k) not in wanted]
        if gone:
            registered = {(g.id, t.key): t for g in snapshot.target_groups.values() for t in g.targets}
            for group_id, key in gone:
                self._unwatch(group_id, key, registered.get((group_id, key)))
        for (group_id, key), checked in wanted.items():
            self._update(group_id, key, checked)
        self._groups = {g: keys for g, keys in self._groups.items() if keys}
        self._healthy = {g: self._healthy_keys(g) for g in self._groups}
        self._stored = {g: c for g, c in self._stored.items() if g in snapshot.target_groups}

    def _update(self, group_id: str, key: str, checked: CheckedTarget) -> None:
        watched = self._groups.setdefault(group_id, {}).get(key)
        if watched is None:
            watched = self._groups[group_id][key] = _Watched(checked, seed(checked.target.status))
            self._start(watched)
            return
        before, watched.checked = watched.checked, checked
        if registered_again(before.target.status, checked.target.status):
            watched.health = seed(checked.target.status)
            self._start(watched)
        elif before.config != checked.config:
            self._start(watched)  # the new interval takes effect now, not after the old one

    def _unwatch(self, group_id: str, key: str, target: TargetView | None) -> None:
        """Stop checking a target. If it is still registered (its group stopped being checked: disabled or no
        longer used), record it INITIAL again, so checks start afresh if they resume, as a new target's do."""
        watched = self._groups[group_id].pop(key)
        _retire(watched)
        if target is None or target.status == TargetStatus.DRAINING:
            return  # deregistered: the control plane owns its status now
        if (watched.health.status, watched.health.reason) != (TargetStatus.INITIAL, None):
            self._record(group_id, target, TargetHealth())

    def _start(self, watched: _Watched) -> None:
        _retire(watched)
        watched.task = asyncio.get_running_loop().create_task(self._check_forever(watched))

    async def _check_forever(self, watched: _Watched) -> None:
        config = watched.checked.config
        delay = self._rng.uniform(0.0, min(config.interval, _FIRST_CHECK_SPREAD)) * self._scale
        this = asyncio.current_task()
        # Until this task is retired. Not `while True`: on Python 3.11 asyncio.wait_for (in probe) can swallow a
        # cancel that lands as its check completes, and the loop would then outlive stop() (seen under load).
        while watched.task is this:
            await asyncio.sleep(delay)
            started = self._clock()
            try:
                self._apply(watched, await self._check(watched.checked))
            except Exception:  # e.g. address_of failing: log, and check again next interval
                _log.exception("health check of %s failed unexpectedly", watched.checked.target.key)
            period = config.interval * self._scale * self._rng.uniform(1 - _JITTER, 1 + _JITTER)
            delay = max(0.0, started + period - self._clock())

    async def _check(self, checked: CheckedTarget) -> CheckEvent:
        address = self._address_of(checked.group, checked.target)
        if address is None:
            return check_outcome(None, CheckError.CONNECTION, checked.config.matcher)
        host, traffic_port = address
        async with self._limit:
            port = checked.config.port_for(traffic_port)
            return await probe(host, port, checked.config, checked.config.timeout * self._scale)

    def _apply(self, watched: _Watched, event: CheckEvent) -> None:
        before = watched.health
        watched.health = after = advance(before, event, watched.checked.config)
        if (after.status, after.reason) != (before.status, before.reason):
            self._record(watched.checked.group.id, watched.checked.target, after)
        if (after.status is TargetStatus.HEALTHY) != (before.status is TargetStatus.HEALTHY):
            group_id = watched.checked.group.id
            self._healthy[group_id] = self._healthy_keys(group_id)

    def _record(self, group_id: str, target: TargetView, health: TargetHealth) -> None:
        try:
            self._sink.record(group_id, target, health.status.value, health.reason)
        except Exception:  # a failing sink must not stop the checks; the next change is recorded again
            _log.exception("recording %s %s for %s failed", health.status, target.key, group_id)

    def _healthy_keys(self, group_id: str) -> frozenset[str]:
        watched = self._groups.get(group_id, {})
        return frozenset(k for k, w in watched.items() if w.health.status is TargetStatus.HEALTHY)

    async def _cancel_all(self) -> None:
        tasks = [w.task for keys in self._groups.values() for w in keys.values() if w.task is not None]
        for keys in self._groups.values():
            for watched in keys.values():
                _retire(watched)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._groups.clear()
        self._healthy.clear()
        self._seen = None


def _retire(watched: _Watched) -> None:
    """End a target's check loop: cancel its task, and unhook it so the loop ends even if the cancel is lost."""
    task, watched.task = watched.task, None
    if task is not None:
        task.cancel()


# -- one check --------------------------------------------------------------------------------------------------


async def probe(host: str, port: int, config: CheckConfig, timeout: float | None = None) -> CheckEvent:
    """One health check of host:port on a new connection, closed afterwards. `timeout` (default: the config's)
    covers connecting, the TLS handshake and the response head."""
    try:
        status = await asyncio.wait_for(_ask(host, port, config), config.timeout if timeout is None else timeout)
    except TimeoutError:  # before OSError: TimeoutError is one
        return check_outcome(None, CheckError.TIMEOUT, config.matcher)
    except (OSError, EOFError, ValueError, MalformedResponse):  # refused, reset, TLS, cut short, not HTTP
        return check_outcome(None, CheckError.CONNECTION, config.matcher)
    return check_outcome(status, None, config.matcher)


async def _ask(host: str, port: int, config: CheckConfig) -> int | None:
    """The status code the target answers with (None for a TCP check, which only connects)."""
    http2 = config.protocol_version == "HTTP2"
    tls = _tls_context("h2" if http2 else "http/1.1") if config.protocol == "HTTPS" else None
    reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    try:
        if config.protocol == "TCP":
            return None
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if not http2:
            writer.write(http1_request(authority, config.path))
            return http1_status(await reader.readline())
        if tls is not None and writer.get_extra_info("ssl_object").selected_alpn_protocol() != "h2":
            raise MalformedResponse("the target did not negotiate HTTP/2 (ALPN h2)")
        writer.write(h2_request(authority, config.path, https=tls is not None))
        return await _h2_read_status(reader, writer)
    finally:
        writer.close()


@functools.cache
def _tls_context(alpn: str) -> ssl.SSLContext:
    # Lattice UG "Target groups": Lattice does not validate target certificates (reference 2.3).
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols([alpn])
    return context


# -- HTTP/1.1 ---------------------------------------------------------------------------------------------------

_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-9]\d\d)(?: [^\r\n]*)?\r?\n")


def http1_request(authority: str, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def http1_status(line: bytes) -> int:
    """The status code of an HTTP/1.x status line (RFC 9112 4); MalformedResponse for anything else."""
    found = _STATUS_LINE.fullmatch(line)
    if found is None:
        raise MalformedResponse(f"not an HTTP/1.x status line: {line[:80]!r}")
    return int(found[1])


# -- HTTP/2, only as far as `:status` ---------------------------------------------------------------------------

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  # RFC 9113 3.4
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _GOAWAY, _CONTINUATION = 0x0, 0x1, 0x3, 0x4, 0x7, 0x9
_END_STREAM, _ACK, _END_HEADERS, _PADDED, _PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
_STREAM = 1
# RFC 7541 Appendix A: static table entries 8-14 are ":status" with these values.
_STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
# RFC 7541 Appendix B: Huffman codes of the digits, (bit length, code) -> digit; :status is three digits.
_HUFFMAN_DIGITS = {(5, 0x0): "0", (5, 0x1): "1", (5, 0x2): "2"} | {(6, 0x19 + d): str(3 + d) for d in range(7)}


def h2_request(authority: str, path: str, *, https: bool) -> bytes:
    """Connection preface, an empty SETTINGS frame and a GET on stream 1 that ends the stream.

    Header block (RFC 7541): :method GET indexed (2), :scheme indexed (6 http, 7 https), then :path (4),
    :authority (1) and user-agent (58) as literals without indexing, with indexed names and plain strings.
    """
    block = bytes([0x82, 0x87 if https else 0x86])
    for index, value in ((4, path), (1, authority), (58, USER_AGENT)):
        block += _hpack_int(index, 4, 0x00) + _hpack_int(len(value.encode()), 7, 0x00) + value.encode()
    return _PREFACE + _frame(_SETTINGS, 0, 0, b"") + _frame(_HEADERS, _END_STREAM | _END_HEADERS, _STREAM, block)


def h2_status(block: bytes) -> int:
    """`:status` from the first response header block of a connection (RFC 9113 8.3: pseudo-header fields come
    first, and a response has only `:status`). The dynamic table is empty then, so the field is a static table
    entry (8-14) or a literal whose name is static entry 8 or the string ":status", possibly after dynamic table
    size updates."""
    at = 0
    while at < len(block) and block[at] & 0xE0 == 0x20:  # dynamic table size update
        _, at = _hpack_read_int(block, at, 5)
    if at >= len(block):
        raise MalformedResponse("empty header block")
    first = block[at]
    if first & 0x80:  # indexed field
        index, _ = _hpack_read_int(block, at, 7)
        if index not in _STATIC_STATUS:
            raise MalformedResponse(f"the first response header is static entry {index}, not :status")
        return _STATIC_STATUS[index]
    name_index, at = _hpack_read_int(block, at, 6 if first & 0x40 else 4)
    if name_index == 0:
        name, at = _hpack_read_string(block, at)
        if name != b":status":
            raise MalformedResponse(f"the first response header is {name!r}, not :status")
    elif name_index not in _STATIC_STATUS:
        raise MalformedResponse(f"the first response header names static entry {name_index}, not :status")
    value, _ = _hpack_read_string(block, at)
    if not re.fullmatch(rb"[1-9]\d\d", value):
        raise MalformedResponse(f"bad :status {value!r}")
    return int(value)


async def _h2_read_status(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """Read frames until the response header block of stream 1 is complete; acknowledge the server's SETTINGS.
    RFC 9113 3.4: the server's preface is a SETTINGS frame, so anything else first is not HTTP/2 (an HTTP/1.1
    server answering the preface, say) and fails at once instead of waiting out the timeout."""
    block, first = b"", True
    while True:
        head = await reader.readexactly(9)
        length, kind, flags = int.from_bytes(head[:3], "big"), head[3], head[4]
        stream = int.from_bytes(head[5:], "big") & 0x7FFFFFFF
        if (first and kind != _SETTINGS) or length > _MAX_H2_FRAME:
            raise MalformedResponse(f"not an HTTP/2 server: {head!r}")
        payload, first = await reader.readexactly(length), False
        if kind == _SETTINGS and not flags & _ACK:
            writer.write(_frame(_SETTINGS, _ACK, 0, b""))
        elif kind == _GOAWAY or (kind == _RST_STREAM and stream == _STREAM):
            raise MalformedResponse("the target refused the HTTP/2 check (GOAWAY or RST_STREAM)")
        elif kind in (_HEADERS, _CONTINUATION) and stream == _STREAM:
            block += _header_fragment(kind, flags, payload)
            if flags & _END_HEADERS:
                return h2_status(block)


def _header_fragment(kind: int, flags: int, payload: bytes) -> bytes:
    """A HEADERS frame's fragment without padding and priority fields (RFC 9113 6.2); CONTINUATION has none."""
    if kind != _HEADERS:
        return payload
    start, end = 0, len(payload)
    if flags & _PADDED:
        start, end = 1, len(payload) - payload[0]
    if flags & _PRIORITY:
        start += 5
    if start > end:
        raise MalformedResponse("HEADERS padding longer than the frame")
    return payload[start:end]


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def _hpack_int(value: int, prefix: int, high_bits: int) -> bytes:
    """RFC 7541 5.1 integer with an N-bit prefix; `high_bits` fill the first byte above the prefix."""
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes([high_bits | value])
    out, value = [high_bits | limit], value - limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def _hpack_read_int(data: bytes, at: int, prefix: int) -> tuple[int, int]:
    """RFC 7541 5.1: (value, index after it) of the integer whose N-bit prefix is in data[at]."""
    limit = (1 << prefix) - 1
    value, at = data[at] & limit, at + 1
    if value < limit:
        return value, at
    shift = 0
    while True:
        if at >= len(data) or shift > 28:
            raise MalformedResponse("HPACK integer cut short or too large")
        byte, at = data[at], at + 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _hpack_read_string(data: bytes, at: int) -> tuple[bytes, int]:
    """RFC 7541 5.2 string literal; Huffman-coded strings are decoded for digits only (all a status needs)."""
    if at >= len(data):
        raise MalformedResponse("HPACK string missing")
    huffman = bool(data[at] & 0x80)
    length, at = _hpack_read_int(data, at, 7)
    raw = data[at : at + length]
    if len(raw) != length:
        raise MalformedResponse("HPACK string cut short")
    return (_huffman_digits(raw) if huffman else raw), at + length


def _huffman_digits(raw: bytes) -> bytes:
    """Decode a Huffman-coded string of digits (RFC 7541 5.2, Appendix B)."""
    bits = "".join(f"{byte:08b}" for byte in raw)
    out, at = [], 0
    while not (len(bits) - at < 8 and set(bits[at:]) <= {"1"}):  # the rest is more than EOS padding
        size, digit = next(((n, d) for n in (5, 6) if (d := _HUFFMAN_DIGITS.get((n, _bits(bits, at, n))))), (0, ""))
        if not digit:
            raise MalformedResponse("Huffman-coded :status holds more than digits")
        out.append(digit)
        at += size
    return "".join(out).encode()


def _bits(bits: str, at: int, size: int) -> int:
    """The `size` bits at `at` as an int, or -1 if fewer are left (never a code)."""
    return int(bits[at : at + size], 2) if len(bits) - at >= size else -1
