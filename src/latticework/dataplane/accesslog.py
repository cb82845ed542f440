"""Lattice service access logs: one finished request (`Exchange`) in, the record Lattice would log out, plus
where a subscription's destination ARN lands under STATE_DIR/logs.

Field names, placeholders and units follow the User Guide "Access log contents" (reference 2.8) and a real
record published by AWS (aws-samples ECS bridge-mode Envoy sidecar README). Pure: no I/O, no clock reads (the
times are in the exchange, `when` is passed in); `logsink` does the writing.

`access_record(Exchange)` is the reference; the relay's hot path uses `LogRouter` (which subscriptions log a
request) and `request_line` (its JSON line), both reading the relay's `Trace` (a `FinishedRequest`) directly,
held equal to the reference by property tests.
"""

from __future__ import annotations

import hashlib
import json.encoder
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import PurePath, PurePosixPath
from typing import Any, Protocol
from urllib.parse import quote

from latticework.dataplane._fastpath import remember
from latticework.dataplane.access import OPEN, Access, identity_tags
from latticework.dataplane.decide import Forwarding
from latticework.dataplane.snapshot import ServiceView, VpcView

__all__ = [
    "ANONYMOUS",
    "AUTH_DENIED_REASONS",
    "FAILURE_REASONS",
    "PLACEHOLDER",
    "S3_WINDOW_SECONDS",
    "UNKNOWN",
    "Exchange",
    "FinishedRequest",
    "LogRouter",
    "LogTarget",
    "UnsupportedDestinationError",
    "access_line",
    "access_record",
    "destination_path",
    "log_targets",
    "path_segment",
    "request_line",
    "start_time",
]

# Lattice writes "-" where a field has no value (reference 2.8; the real record has "-" for authDeniedReason,
# failureReason and the unused caller fields).
PLACEHOLDER = "-"
# User Guide, resolvedUser: "null | ARN | Anonymous | Unknown". An unsigned caller is the anonymous principal
# (the policy key aws:PrincipalType is "Anonymous" for it); "Unknown" is for a signature we could not resolve.
ANONYMOUS = "Anonymous"
UNKNOWN = "Unknown"
AUTH_DENIED_REASONS = frozenset({"Service", "Network", "Identity"})
FAILURE_REASONS = frozenset(
    {
        "TargetConnectionError",
        "TargetProtocolError",
        "TargetDataTimeout",
        "TargetConnectionClosed",
        "ClientConnectionClosed",
        "ClientRateLimited",
        "ClientAccessDenied",
        "ClientProtocolError",
        "ConnectionDurationExceeded",
        "InternalError",
    }
)
# One S3 object per resource per 5 minutes: AWS's key carries the delivery time to the minute (YYYYMMDDTHHmmZ),
# and vended logs are delivered to S3 in batches every few minutes (reference 2.8: "S3 (~6 min)").
S3_WINDOW_SECONDS = 300


class UnsupportedDestinationError(ValueError):
    """A destination ARN that is not a CloudWatch Logs log group, an S3 bucket or a Firehose delivery stream."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """Everything the relay knows about one finished request. Times are epoch seconds; None means the step
    never happened (no target was contacted, no response came back)."""

    start: float
    end: float
    request_sent_to_target: float | None = None  # when the last byte of the request went to the target
    response_started: float | None = None  # when the first byte of the target's response arrived
    source_ip: str
    source_port: int
    vpc: VpcView | None = None  # the caller's VPC
    service: ServiceView | None = None  # None: no service was found (404 Non Existent Service)
    network_arn: str | None = None  # the service network the request went through (default: the VPC's)
    target_group_arn: str | None = None
    target_address: str | None = None  # "ip:port"
    target_vpc_id: str | None = None  # destinationVpcId: the target group's VPC
    method: str
    path: str  # with the query string, as Lattice logs requestPath
    protocol: str = "HTTP/1.1"  # "HTTP/1.1" | "HTTP/2"
    host_header: str | None = None
    user_agent: str | None = None
    sni: str | None = None
    tls_version: str | None = None  # e.g. "TLSv1.3"
    tls_cipher: str | None = None  # OpenSSL name, e.g. "ECDHE-RSA-AES128-GCM-SHA256"
    status: int
    grpc_status: int | None = None
    bytes_received: int = 0  # header and body bytes from the client
    bytes_sent: int = 0  # header and body bytes to the client
    request_id: str
    failure_reason: str | None = None  # one of FAILURE_REASONS
    resolved_user: str = ANONYMOUS  # principal ARN, ANONYMOUS or UNKNOWN
    auth_denied_reason: str | None = None  # one of AUTH_DENIED_REASONS
    caller_principal: str | None = None
    caller_principal_tags: str | None = None  # as in x-amzn-lattice-identity-tags
    caller_x509_subject_cn: str | None = None
    caller_x509_issuer_ou: str | None = None
    caller_x509_san_name_cn: str | None = None
    caller_x509_san_dns: str | None = None
    caller_x509_san_uri: str | None = None

    def __post_init__(self) -> None:
        if self.failure_reason is not None and self.failure_reason not in FAILURE_REASONS:
            raise ValueError(f"failure_reason {self.failure_reason!r} is not one of Lattice's values")
        if self.auth_denied_reason is not None and self.auth_denied_reason not in AUTH_DENIED_REASONS:
            raise ValueError(f"auth_denied_reason {self.auth_denied_reason!r} is not Service, Network or Identity")

    @property
    def through_network(self) -> str | None:
        """The service network ARN the request went through: the relay's, else the caller VPC's."""
        return self.network_arn or (self.vpc.network_arn if self.vpc else None)


def access_record(exchange: Exchange) -> dict[str, Any]:
    """The VpcLatticeAccessLogs record of an exchange: every field of the User Guide's table, "-" for absent
    values, durations in whole milliseconds.

    Field order follows the real record AWS published; requestId, grpcResponseCode and callerPrincipalTags (in
    the User Guide but not in that record) sit next to their neighbours. Deviation: that real record also
    carries listenerId, listenerType and callerPrincipalOrgID, which the User Guide does not list; we leave them
    out. A duration whose end point never happened (no target contacted) is "-".
    """
    e = exchange
    vpc = e.vpc
    return {
        "serviceNetworkArn": _text(e.through_network),
        "resolvedUser": e.resolved_user,
        "authDeniedReason": _text(e.auth_denied_reason),
        "targetGroupArn": _text(e.target_group_arn),
        "sourceVpcArn": _text(vpc.arn if vpc else None),
        "destinationVpcId": _text(e.target_vpc_id),
        "sourceIpPort": f"{e.source_ip}:{e.source_port}",
        "targetIpPort": _text(e.target_address),
        "failureReason": _text(e.failure_reason),
        "serviceArn": _text(e.service.arn if e.service else None),
        "sourceVpcId": _text(vpc.id if vpc else None),
        "startTime": start_time(e.start),
        "requestMethod": e.method,
        "requestPath": e.path,
        "protocol": e.protocol,
        "responseCode": e.status,
        "grpcResponseCode": PLACEHOLDER if e.grpc_status is None else e.grpc_status,
        "bytesReceived": e.bytes_received,
        "bytesSent": e.bytes_sent,
        "duration": _ms(e.start, e.end),
        "userAgent": _text(e.user_agent),
        "hostHeader": _text(e.host_header),
        "serverNameIndication": _text(e.sni),
        # User Guide: "from the start time to the last byte sent to the target" ...
        "requestToTargetDuration": _ms(e.start, e.request_sent_to_target),
        # ... and "from the first byte read from the target host to the last byte sent to the client".
        "responseFromTargetDuration": _ms(e.response_started, e.end),
        "sslCipher": _text(e.tls_cipher),
        "tlsVersion": _text(e.tls_version),
        "requestId": e.request_id,
        "callerPrincipal": _text(e.caller_principal),
        "callerPrincipalTags": _text(e.caller_principal_tags),
        "callerX509IssuerOU": _text(e.caller_x509_issuer_ou),
        "callerX509SubjectCN": _text(e.caller_x509_subject_cn),
        "callerX509SANNameCN": _text(e.caller_x509_san_name_cn),
        "callerX509SANDNS": _text(e.caller_x509_san_dns),
        "callerX509SANURI": _text(e.caller_x509_san_uri),
    }


def access_line(exchange: Exchange) -> bytes:
    """`access_record(exchange)` as one JSON line, byte for byte what `logsink.encode_record` makes of it, about
    3x cheaper: the fields that repeat for a caller, service and target group are encoded once and cached, the
    rest go through the json module's own string escaper. `access_record` stays the reference (a property test
    holds the two equal)."""
    e = exchange
    vpc = e.vpc
    head = _head_segment(
        e.through_network, e.resolved_user, e.auth_denied_reason, e.target_group_arn, vpc.arn if vpc else None,
        e.target_vpc_id,
    )  # fmt: skip
    middle = _service_segment(e.service.arn if e.service else None, vpc.id if vpc else None)
    tail = _caller_segment(
        e.caller_principal, e.caller_principal_tags, e.caller_x509_issuer_ou, e.caller_x509_subject_cn,
        e.caller_x509_san_name_cn, e.caller_x509_san_dns, e.caller_x509_san_uri,
    )  # fmt: skip
    return _line(
        head, f"{e.source_ip}:{e.source_port}", e.target_address, e.failure_reason, middle, e.start, e.method,
        e.path, e.protocol, e.status, e.grpc_status, e.bytes_received, e.bytes_sent, e.end, e.user_agent,
        e.host_header, e.sni, e.request_sent_to_target, e.response_started, e.tls_cipher, e.tls_version,
        e.request_id, tail,
    )  # fmt: skip


class FinishedRequest(Protocol):
    """What the relay knows of a finished request (`relay.Trace`, read-only here): `request_line` and
    `LogRouter` read it directly, so the hot path builds no frozen `Exchange` (about 5 us a request)."""

    start: float
    end: float
    vpc: VpcView | None
    source: tuple[str, int]
    method: str
    target: str  # the path and query, as requestPath
    host: str
    user_agent: str
    status: int
    bytes_received: int
    bytes_sent: int
    request_id: str
    failure_reason: str | None
    decision: Any  # a decide.Decision, or None before one was made
    target_address: str | None
    sent_to_target: float | None
    response_started: float | None
    sni: str | None
    tls_version: str | None
    tls_cipher: str | None


def request_line(request: FinishedRequest) -> bytes:
    """`access_line` of the `Exchange` that `relay.Trace.finished()` builds, without building it (a property
    test holds the two equal). Unlike `Exchange`, it does not validate failureReason: the relay sets only
    Lattice's values. What a request's decision and caller VPC decide (ARNs, the caller) is formatted once per
    such pair (`_route`); only the per-request values are formatted here."""
    r = request
    decision, vpc = r.decision, r.vpc
    route = _ROUTES.get((id(decision), id(vpc))) or _route(decision, vpc)
    head, middle, tail = route[2:]
    q = _quote
    source = r.source
    start, end = r.start, r.end
    return (
        f'{head}{q(f"{source[0]}:{source[1]}")},"targetIpPort":{q(r.target_address or "-")}'
        f',"failureReason":{q(r.failure_reason or "-")}{middle}"{start_time(start)}"'
        f',"requestMethod":{q(r.method)},"requestPath":{q(r.target)},"protocol":"HTTP/1.1"'
        f',"responseCode":{r.status},"grpcResponseCode":"-"'
        f',"bytesReceived":{r.bytes_received},"bytesSent":{r.bytes_sent},"duration":{_ms_text(start, end)}'
        f',"userAgent":{q(r.user_agent or "-")},"hostHeader":{q(r.host or "-")}'
        f',"serverNameIndication":{q(r.sni or "-")}'
        f',"requestToTargetDuration":{_ms_text(start, r.sent_to_target)}'
        f',"responseFromTargetDuration":{_ms_text(r.response_started, end)}'
        f',"sslCipher":{q(r.tls_cipher or "-")},"tlsVersion":{q(r.tls_version or "-")}'
        f',"requestId":{q(r.request_id)}{tail}'
    ).encode()


# (id(decision), id(caller VPC)) -> (decision, VPC, head, middle, tail): the line's parts they decide. The entry
# holds the two objects, so their ids cannot be reused by others while it lives. The relay's decisions are
# memoized per snapshot (`decide`), so a steady route finds its entry; the cache starts over when it is full.
_ROUTES: dict[tuple[int, int], tuple[Any, VpcView | None, str, str, str]] = {}
_MAX_ROUTES = 4096


def _route(decision: Any, vpc: VpcView | None) -> tuple[Any, VpcView | None, str, str, str]:
    access: Access = getattr(decision, "access", OPEN)
    forwarding = decision if type(decision) is Forwarding else None
    service: ServiceView | None = getattr(decision, "service", None)
    network = (forwarding.network_arn if forwarding else None) or (vpc.network_arn if vpc else None)
    principal = access.principal
    head = _head_segment(
        network, access.resolved_user, access.denied_by, forwarding.target_group.arn if forwarding else None,
        vpc.arn if vpc else None, None,
    )  # fmt: skip
    middle = _service_segment(service.arn if service else None, vpc.id if vpc else None)
    tail = _NO_CALLER if principal is None else _caller_segment(principal.arn, identity_tags(principal), *_NO_X509)
    route = (decision, vpc, f'{{{head},"sourceIpPort":', f',{middle},"startTime":', f",{tail}}}\n")
    return remember(_ROUTES, (id(decision), id(vpc)), route, _MAX_ROUTES)


def _line(
    head: str, source: str, target: str | None, failure: str | None, middle: str, start: float, method: str,
    path: str, protocol: str, status: int, grpc: int | None, received: int, sent: int, end: float,
    user_agent: str | None, host: str | None, sni: str | None, sent_to_target: float | None,
    response_started: float | None, cipher: str | None, tls: str | None, request_id: str, tail: str,
) -> bytes:  # fmt: skip
    """The record's line from its per-request values and the cached segments, in `access_record`'s order."""
    q = _quote
    return (
        f'{{{head},"sourceIpPort":{q(source)},"targetIpPort":{q(target or "-")}'
        f',"failureReason":{q(failure or "-")},{middle},"startTime":{q(start_time(start))}'
        f',"requestMethod":{q(method)},"requestPath":{q(path)},"protocol":{q(protocol)}'
        f',"responseCode":{status},"grpcResponseCode":{_number(grpc)}'
        f',"bytesReceived":{received},"bytesSent":{sent},"duration":{_ms_text(start, end)}'
        f',"userAgent":{q(user_agent or "-")},"hostHeader":{q(host or "-")}'
        f',"serverNameIndication":{q(sni or "-")}'
        f',"requestToTargetDuration":{_ms_text(start, sent_to_target)}'
        f',"responseFromTargetDuration":{_ms_text(response_started, end)}'
        f',"sslCipher":{q(cipher or "-")},"tlsVersion":{q(tls or "-")}'
        f',"requestId":{q(request_id)},{tail}}}\n'
    ).encode()


# What json.dumps(..., ensure_ascii=False) uses for a str (the C escaper when available).
_quote = json.encoder.encode_basestring


def _number(value: int | str | None) -> str:
    """A JSON number, or the placeholder string for a value that is absent."""
    return '"-"' if value is None or value == PLACEHOLDER else str(int(value))


@lru_cache(maxsize=1024)
def _head_segment(
    network: str | None, user: str, denied: str | None, group: str | None, vpc_arn: str | None, vpc: str | None
) -> str:
    q = _quote
    return (
        f'"serviceNetworkArn":{q(_text(network))},"resolvedUser":{q(user)},"authDeniedReason":{q(_text(denied))}'
        f',"targetGroupArn":{q(_text(group))},"sourceVpcArn":{q(_text(vpc_arn))},"destinationVpcId":{q(_text(vpc))}'
    )


@lru_cache(maxsize=1024)
def _service_segment(service_arn: str | None, vpc_id: str | None) -> str:
    return f'"serviceArn":{_quote(_text(service_arn))},"sourceVpcId":{_quote(_text(vpc_id))}'


@lru_cache(maxsize=1024)
def _caller_segment(*fields: str | None) -> str:
    names = (
        "callerPrincipal",
        "callerPrincipalTags",
        "callerX509IssuerOU",
        "callerX509SubjectCN",
        "callerX509SANNameCN",
        "callerX509SANDNS",
        "callerX509SANURI",
    )
    return ",".join(f'"{name}":{_quote(_text(value))}' for name, value in zip(names, fields, strict=True))


def start_time(epoch: float) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC, whole seconds (User Guide, startTime)."""
    return _second_text(math.floor(epoch))


@lru_cache(maxsize=64)
def _second_text(second: int) -> str:
    # Formatted once per second: on a busy relay every record of that second shares the text.
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: str | None) -> str:
    return value if value else PLACEHOLDER


def _ms_text(since: float | None, until: float | None) -> str:
    """`_ms` as JSON: a number, or the placeholder string. ":.0f" rounds half to even from the exact binary
    value, as round() does, at a quarter of the cost of str(round()); below 0.5 (and negative) is 0."""
    if since is None or until is None:
        return '"-"'
    elapsed = (until - since) * 1000
    return "0" if elapsed < 0.5 else f"{elapsed:.0f}"


def _ms(since: float | None, until: float | None) -> int | str:
    if since is None or until is None:
        return PLACEHOLDER
    return max(0, round((until - since) * 1000))


_NO_X509: tuple[None, ...] = (None,) * 5  # the relay takes no client certificates (no mTLS)
_NO_CALLER = _caller_segment(None, None, *_NO_X509)


@dataclass(frozen=True, slots=True)
class LogTarget:
    """One resource whose subscriptions log an exchange, and the destination ARNs they deliver to."""

    resource_id: str  # svc-... or sn-...
    account: str
    region: str
    destinations: tuple[str, ...]


def log_targets(exchange: Exchange, log_destinations: Mapping[str, tuple[str, ...]]) -> tuple[LogTarget, ...]:
    """Which subscriptions log this exchange: the service's, and the service network's for traffic from its
    VPCs (CreateAccessLogSubscription: the service network owner sees "traffic originated from VPCs associated
    with that network"). `log_destinations` is `Snapshot.log_destinations` (resource id -> destination ARNs)."""
    return _targets(exchange.service, exchange.through_network, log_destinations)


def _targets(
    service: ServiceView | None, network_arn: str | None, log_destinations: Mapping[str, tuple[str, ...]]
) -> tuple[LogTarget, ...]:
    found = []
    if service is not None:
        found.append(LogTarget(service.id, service.account, service.region, log_destinations.get(service.id, ())))
    if network_arn:
        _, _, _, region, account, resource = network_arn.split(":", 5)
        network_id = resource.rpartition("/")[2]
        found.append(LogTarget(network_id, account, region, log_destinations.get(network_id, ())))
    return tuple(target for target in found if target.destinations)


class LogRouter:
    """`log_targets` for one snapshot's `log_destinations`, answered from a cache per (service, network), from
    a `FinishedRequest` rather than an `Exchange`. Make a new one when the snapshot's mapping changes."""

    def __init__(self, log_destinations: Mapping[str, tuple[str, ...]]) -> None:
        self.log_destinations = log_destinations
        self._found: dict[tuple[str | None, str | None], tuple[LogTarget, ...]] = {}

    def targets(self, request: FinishedRequest) -> tuple[LogTarget, ...]:
        """Which subscriptions log `request` (none at all when nothing in the snapshot is subscribed)."""
        if not self.log_destinations:
            return ()
        decision, vpc = request.decision, request.vpc
        service: ServiceView | None = getattr(decision, "service", None)
        network = (decision.network_arn if type(decision) is Forwarding else None) or (vpc.network_arn if vpc else None)
        key = (service.id if service else None, network)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = _targets(service, network, self.log_destinations)
        return found


_PARTITION = r"arn:aws(?:-[a-z]+)*"
_CLOUDWATCH = re.compile(
    _PARTITION + r":logs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):log-group:(?P<name>[A-Za-z0-9_./#-]{1,512})(?::\*)?"
)
_S3 = re.compile(_PARTITION + r":s3:::(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?")
_FIREHOSE = re.compile(
    _PARTITION + r":firehose:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):deliverystream/(?P<name>[A-Za-z0-9_.-]{1,64})"
)
_RESOURCE_ID = re.compile(r"[a-z]{2,5}-[0-9a-z]{1,32}")
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z0-9-]{1,32}")


def destination_path(destination_arn: str, resource_id: str, account: str, region: str, when: float) -> PurePath:
    """Where records for `resource_id` sent to `destination_arn` at `when` land, relative to STATE_DIR/logs.

    - CloudWatch Logs `arn:aws:logs:R:A:log-group:NAME[:*]` -> `cloudwatch/A/R/NAME/<resource-id>.log`, one
      file per log stream, and Lattice writes one stream per logged resource.
    - S3 `arn:aws:s3:::BUCKET[/PREFIX]` -> AWS's key (reference 2.8) under `s3/`, with `<account>`/`<region>`
      of the logged resource, one object per 5-minute window. Deviation: plain JSON lines, not `.json.gz`, and
      the `<hash>` is derived from the destination, resource and window (AWS's is random) so several worker
      processes append to the same object.
    - Firehose `arn:aws:firehose:R:A:deliverystream/NAME` -> `firehose/A/R/NAME.log`.

    Names are percent-encoded where they could leave the directory (a log group's `/`, an S3 prefix's `..`).
    Raises UnsupportedDestinationError for any other ARN, ValueError for a malformed id, account or region.
    """
    _check(resource_id, _RESOURCE_ID, "resource id")
    if match := _CLOUDWATCH.fullmatch(destination_arn):
        group = path_segment(match["name"])
        return PurePosixPath("cloudwatch", match["account"], match["region"], group, f"{resource_id}.log")
    if match := _FIREHOSE.fullmatch(destination_arn):
        return PurePosixPath("firehose", match["account"], match["region"], f"{match['name']}.log")
    if match := _S3.fullmatch(destination_arn):
        _check(account, _ACCOUNT, "account")
        _check(region, _REGION, "region")
        return _s3_key(destination_arn, match["bucket"], match["prefix"] or "", resource_id, account, region, when)
    raise UnsupportedDestinationError(
        f"{destination_arn!r} is not a CloudWatch Logs log group, S3 bucket or Firehose delivery stream ARN"
    )


def _s3_key(
    arn: str, bucket: str, prefix: str, resource_id: str, account: str, region: str, when: float
) -> PurePosixPath:
    # User Guide: bucket/prefix/AWSLogs/accountId/VpcLattice/AccessLogs/region/YYYY/MM/DD/resource-id/
    #   accountId_VpcLatticeAccessLogs_region_resource-id_YYYYMMDDTHHmmZ_hash.json.gz
    window = int(when // S3_WINDOW_SECONDS) * S3_WINDOW_SECONDS
    moment = datetime.fromtimestamp(window, UTC)
    digest = hashlib.sha256(f"{arn}\n{resource_id}\n{window}".encode()).hexdigest()[:8]
    name = f"{account}_VpcLatticeAccessLogs_{region}_{resource_id}_{moment:%Y%m%dT%H%MZ}_{digest}.json"
    prefix_parts = [path_segment(part) for part in prefix.split("/") if part]
    return PurePosixPath(
        "s3",
        bucket,
        *prefix_parts,
        "AWSLogs",
        account,
        "VpcLattice",
        "AccessLogs",
        region,
        f"{moment:%Y}",
        f"{moment:%m}",
        f"{moment:%d}",
        resource_id,
        name,
    )


def path_segment(name: str) -> str:
    """One safe path segment for a name: everything but letters, digits and `-_.~` percent-encoded, and the
    names `.` and `..` spelled `%2E` and `%2E%2E`."""
    encoded = quote(name, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def _check(value: str, pattern: re.Pattern[str], what: str) -> None:
    if not pattern.fullmatch(value):
        raise ValueError(f"{what} {value!r} does not look like one")
