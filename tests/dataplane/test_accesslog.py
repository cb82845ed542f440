"""Table tests for the pure access log core: the record Lattice would log for an exchange, which subscriptions
log it, and where each destination ARN lands."""

from __future__ import annotations

import json
from calendar import timegm
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latticework.auth.principals import Principal
from latticework.dataplane.access import OPEN, Access
from latticework.dataplane.accesslog import (
    ANONYMOUS,
    AUTH_DENIED_REASONS,
    FAILURE_REASONS,
    Exchange,
    LogRouter,
    LogTarget,
    UnsupportedDestinationError,
    _ms,
    _ms_text,
    access_line,
    access_record,
    destination_path,
    log_targets,
    request_line,
)
from latticework.dataplane.decide import FixedReply, Forwarding, Refusal
from latticework.dataplane.logsink import encode_record
from latticework.dataplane.relay import Trace
from latticework.dataplane.snapshot import ListenerView, ServiceView, TargetGroupView, TargetView, VpcView

# User Guide "Access log contents" (reference 2.8): every field of a service access log record.
GUIDE_FIELDS = {
    "callerPrincipalTags",
    "hostHeader",
    "sslCipher",
    "serviceNetworkArn",
    "resolvedUser",
    "authDeniedReason",
    "requestMethod",
    "targetGroupArn",
    "tlsVersion",
    "userAgent",
    "serverNameIndication",
    "destinationVpcId",
    "sourceIpPort",
    "targetIpPort",
    "serviceArn",
    "sourceVpcId",
    "requestPath",
    "startTime",
    "protocol",
    "responseCode",
    "bytesReceived",
    "bytesSent",
    "duration",
    "requestToTargetDuration",
    "responseFromTargetDuration",
    "grpcResponseCode",
    "requestId",
    "callerPrincipal",
    "callerX509SubjectCN",
    "callerX509IssuerOU",
    "callerX509SANNameCN",
    "callerX509SANDNS",
    "callerX509SANURI",
    "sourceVpcArn",
    "failureReason",
}

ACCOUNT = "111122223333"
REGION = "us-west-2"
NETWORK_ARN = f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:servicenetwork/sn-0e05d75deabe9f290"
SERVICE = ServiceView(
    id="svc-0cfe1f49ff3266204",
    arn=f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:service/svc-0cfe1f49ff3266204",
    name="orders",
    account=ACCOUNT,
    region=REGION,
    dns_name="orders-0cfe1f49ff3266204.7d67968.vpc-lattice-svcs.us-west-2.on.aws",
    custom_domain=None,
    certificate_arn=None,
    auth_type="NONE",
    idle_timeout=60,
    listeners=MappingProxyType({}),
    network_arns=frozenset({NETWORK_ARN}),
)
VPC = VpcView(
    "vpc-04157e16d89eba97b", f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-04157e16d89eba97b", ACCOUNT, NETWORK_ARN
)
TG_ARN = f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:targetgroup/tg-0277f384abfefe8aa"
START = timegm((2024, 8, 4, 11, 28, 40)) + 0.25  # 2024-08-04T11:28:40.250Z


def _exchange(**changes: Any) -> Exchange:
    fields: dict[str, Any] = {
        "start": START,
        "end": START + 0.023,
        "source_ip": "10.0.183.56",
        "source_port": 57086,
        "vpc": VPC,
        "method": "GET",
        "path": "/orders?id=7",
        "host_header": SERVICE.dns_name,
        "user_agent": "curl/8.5.0",
        "status": 200,
        "bytes_received": 135,
        "bytes_sent": 1247,
        "request_id": "4b1a6e5c-2f0e-4c59-9a3d-1d2b3c4d5e6f",
    }
    fields.update(changes)
    return Exchange(**fields)


FORWARDED = _exchange(
    service=SERVICE,
    network_arn=NETWORK_ARN,
    target_group_arn=TG_ARN,
    target_address="172.31.9.231:80",
    target_vpc_id="vpc-05e207e48696b69b6",
    request_sent_to_target=START + 0.021,
    response_started=START + 0.020,
    sni=SERVICE.dns_name,
    tls_version="TLSv1.2",
    tls_cipher="ECDHE-RSA-AES128-GCM-SHA256",
)
NOT_FOUND = _exchange(path="/", status=404, bytes_sent=120, host_header="nowhere.example.com", end=START + 0.001)
TARGET_DOWN = _exchange(
    service=SERVICE,
    network_arn=NETWORK_ARN,
    target_group_arn=TG_ARN,
    target_address="172.31.9.231:80",
    status=500,
    failure_reason="TargetConnectionError",
    end=START + 1.0004,
)
FIXED = _exchange(service=SERVICE, network_arn=NETWORK_ARN, status=403, bytes_sent=0, end=START + 0.0016)


@pytest.mark.parametrize(
    ("exchange", "expected"),
    [
        pytest.param(
            FORWARDED,
            {
                "serviceNetworkArn": NETWORK_ARN,
                "serviceArn": SERVICE.arn,
                "targetGroupArn": TG_ARN,
                "targetIpPort": "172.31.9.231:80",
                "destinationVpcId": "vpc-05e207e48696b69b6",
                "sourceVpcId": VPC.id,
                "sourceVpcArn": VPC.arn,
                "sourceIpPort": "10.0.183.56:57086",
                "startTime": "2024-08-04T11:28:40Z",
                "requestMethod": "GET",
                "requestPath": "/orders?id=7",
                "protocol": "HTTP/1.1",
                "responseCode": 200,
                "bytesReceived": 135,
                "bytesSent": 1247,
                "duration": 23,
                "requestToTargetDuration": 21,
                "responseFromTargetDuration": 3,
                "serverNameIndication": SERVICE.dns_name,
                "tlsVersion": "TLSv1.2",
                "sslCipher": "ECDHE-RSA-AES128-GCM-SHA256",
                "failureReason": "-",
                "resolvedUser": "Anonymous",
                "authDeniedReason": "-",
            },
            id="forwarded",
        ),
        pytest.param(
            NOT_FOUND,
            {
                "serviceNetworkArn": NETWORK_ARN,  # the caller VPC's network
                "serviceArn": "-",
                "targetGroupArn": "-",
                "targetIpPort": "-",
                "destinationVpcId": "-",
                "responseCode": 404,
                "hostHeader": "nowhere.example.com",
                "requestPath": "/",
                "duration": 1,
                "requestToTargetDuration": "-",
                "responseFromTargetDuration": "-",
                "failureReason": "-",
                "serverNameIndication": "-",
                "tlsVersion": "-",
                "sslCipher": "-",
            },
            id="non-existent-service",
        ),
        pytest.param(
            TARGET_DOWN,
            {
                "serviceArn": SERVICE.arn,
                "targetGroupArn": TG_ARN,
                "targetIpPort": "172.31.9.231:80",
                "responseCode": 500,
                "failureReason": "TargetConnectionError",
                "duration": 1000,
                "requestToTargetDuration": "-",
                "responseFromTargetDuration": "-",
            },
            id="target-connection-error",
        ),
        pytest.param(
            FIXED,
            {
                "serviceArn": SERVICE.arn,
                "serviceNetworkArn": NETWORK_ARN,
                "targetGroupArn": "-",
                "targetIpPort": "-",
                "responseCode": 403,
                "bytesSent": 0,
                "duration": 2,
                "requestToTargetDuration": "-",
                "responseFromTargetDuration": "-",
                "failureReason": "-",
            },
            id="fixed-response",
        ),
    ],
)
def test_access_record_fields(exchange: Exchange, expected: dict[str, Any]) -> None:
    """The record carries exactly the guide's fields, with these values."""
    record = access_record(exchange)
    assert set(record) == GUIDE_FIELDS
    assert {name: record[name] for name in expected} == expected


def test_unauthenticated_caller_fields_are_placeholders() -> None:
    """Without authentication resolvedUser is Anonymous and every caller field is "-"."""
    record = access_record(FORWARDED)
    caller = [name for name in GUIDE_FIELDS if name.startswith("caller")]
    assert len(caller) == 7
    assert {record[name] for name in caller} == {"-"}
    assert record["resolvedUser"] == ANONYMOUS == "Anonymous"
    assert record["grpcResponseCode"] == "-"


def test_authenticated_caller_fields() -> None:
    """A denied, authenticated caller logs its principal, tags and which policy denied."""
    principal = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session"
    record = access_record(
        _exchange(
            service=SERVICE,
            status=403,
            resolved_user=principal,
            caller_principal=principal,
            caller_principal_tags="team=orders",
            caller_x509_subject_cn="client.example.com",
            auth_denied_reason="Network",
            failure_reason="ClientAccessDenied",
        )
    )
    assert record["resolvedUser"] == principal
    assert record["callerPrincipal"] == principal
    assert record["callerPrincipalTags"] == "team=orders"
    assert record["callerX509SubjectCN"] == "client.example.com"
    assert record["callerX509SANDNS"] == "-"
    assert record["authDeniedReason"] == "Network"
    assert record["failureReason"] == "ClientAccessDenied"


def test_grpc_and_http2() -> None:
    """gRPC responses log their status code and protocol HTTP/2."""
    record = access_record(_exchange(protocol="HTTP/2", grpc_status=14, status=200))
    assert (record["protocol"], record["grpcResponseCode"]) == ("HTTP/2", 14)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"failure_reason": "TargetTimeout"}, "failure_reason"),
        ({"auth_denied_reason": "Policy"}, "auth_denied_reason"),
    ],
)
def test_exchange_rejects_values_lattice_never_logs(changes: dict[str, Any], message: str) -> None:
    """failureReason and authDeniedReason only take Lattice's values."""
    with pytest.raises(ValueError, match=message):
        _exchange(**changes)


def test_negative_clock_step_never_gives_negative_duration() -> None:
    """A wall clock stepping back during a request logs 0 ms, not a negative duration."""
    assert access_record(_exchange(end=START - 0.5))["duration"] == 0


@pytest.mark.parametrize(
    ("subscribed", "exchange", "expected"),
    [
        pytest.param(
            {SERVICE.id: ("arn:aws:s3:::svc-logs",), "sn-0e05d75deabe9f290": ("arn:aws:s3:::sn-logs",)},
            FORWARDED,
            (
                LogTarget(SERVICE.id, ACCOUNT, REGION, ("arn:aws:s3:::svc-logs",)),
                LogTarget("sn-0e05d75deabe9f290", ACCOUNT, REGION, ("arn:aws:s3:::sn-logs",)),
            ),
            id="service-and-network",
        ),
        pytest.param(
            {SERVICE.id: ("arn:aws:s3:::svc-logs",), "sn-0e05d75deabe9f290": ("arn:aws:s3:::sn-logs",)},
            NOT_FOUND,
            (LogTarget("sn-0e05d75deabe9f290", ACCOUNT, REGION, ("arn:aws:s3:::sn-logs",)),),
            id="no-service-network-only",
        ),
        pytest.param({}, FORWARDED, (), id="nothing-subscribed"),
        pytest.param(
            {"sn-0e05d75deabe9f290": ("arn:aws:s3:::sn-logs",)},
            _exchange(vpc=None),
            (),
            id="no-vpc-no-network",
        ),
    ],
)
def test_log_targets(
    subscribed: dict[str, tuple[str, ...]], exchange: Exchange, expected: tuple[LogTarget, ...]
) -> None:
    """The service's subscriptions and the service network's (for its VPCs' traffic) log an exchange."""
    assert log_targets(exchange, subscribed) == expected


WHEN = timegm((2024, 8, 4, 11, 28, 40))  # 2024-08-04T11:28:40Z


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        pytest.param(
            "arn:aws:logs:eu-west-1:444455556666:log-group:lattice-access",
            "cloudwatch/444455556666/eu-west-1/lattice-access/svc-0cfe1f49ff3266204.log",
            id="cloudwatch",
        ),
        pytest.param(
            "arn:aws:logs:eu-west-1:444455556666:log-group:/aws/vpclattice/orders:*",
            "cloudwatch/444455556666/eu-west-1/%2Faws%2Fvpclattice%2Forders/svc-0cfe1f49ff3266204.log",
            id="cloudwatch-slashes-and-star",
        ),
        pytest.param(
            "arn:aws:s3:::my-logs",
            "s3/my-logs/AWSLogs/111122223333/VpcLattice/AccessLogs/us-west-2/2024/08/04/svc-0cfe1f49ff3266204/"
            "111122223333_VpcLatticeAccessLogs_us-west-2_svc-0cfe1f49ff3266204_20240804T1125Z_",
            id="s3",
        ),
        pytest.param(
            "arn:aws:s3:::my-logs/team/lattice/",
            "s3/my-logs/team/lattice/AWSLogs/111122223333/VpcLattice/AccessLogs/us-west-2/2024/08/04/"
            "svc-0cfe1f49ff3266204/111122223333_VpcLatticeAccessLogs_us-west-2_svc-0cfe1f49ff3266204_20240804T1125Z_",
            id="s3-prefix",
        ),
        pytest.param(
            "arn:aws:s3:::my-logs/../../etc",
            "s3/my-logs/%2E%2E/%2E%2E/etc/AWSLogs/",
            id="s3-prefix-cannot-escape",
        ),
        pytest.param(
            "arn:aws:firehose:ap-south-1:444455556666:deliverystream/lattice-stream",
            "firehose/444455556666/ap-south-1/lattice-stream.log",
            id="firehose",
        ),
        pytest.param(
            "arn:aws-cn:firehose:cn-north-1:444455556666:deliverystream/s",
            "firehose/444455556666/cn-north-1/s.log",
            id="other-partition",
        ),
    ],
)
def test_destination_path(arn: str, expected: str) -> None:
    """Each destination type lands at its documented place (S3 names end in an 8-hex hash and .json)."""
    path = destination_path(arn, "svc-0cfe1f49ff3266204", ACCOUNT, REGION, WHEN)
    assert isinstance(path, PurePosixPath)
    assert str(path).startswith(expected)
    if arn.startswith("arn:aws:s3"):
        assert path.name.endswith(".json")
        assert len(path.name.rsplit("_", 1)[1]) == len("0123abcd.json")


def test_s3_one_object_per_five_minutes() -> None:
    """Records of the same 5-minute window share an object; the next window starts a new one."""
    window = timegm((2024, 8, 4, 11, 25, 0))
    paths = {destination_path("arn:aws:s3:::b-1", "svc-1", ACCOUNT, REGION, window + s) for s in (0, 100, 299.9)}
    assert len(paths) == 1
    later = destination_path("arn:aws:s3:::b-1", "svc-1", ACCOUNT, REGION, window + 300)
    assert later not in paths
    assert "_20240804T1130Z_" in later.name


def test_s3_hash_differs_by_destination_and_resource() -> None:
    """Two subscriptions writing the same window never share a file."""
    a = destination_path("arn:aws:s3:::b-1", "svc-1", ACCOUNT, REGION, WHEN).name
    b = destination_path("arn:aws:s3:::b-1", "svc-2", ACCOUNT, REGION, WHEN).name
    c = destination_path("arn:aws:s3:::b-1/p", "svc-1", ACCOUNT, REGION, WHEN).name
    assert len({a.rsplit("_", 1)[1], b.rsplit("_", 1)[1], c.rsplit("_", 1)[1]}) == 3


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sqs:us-west-2:111122223333:queue",
        "arn:aws:logs:us-west-2:111122223333:log-stream:x",
        "arn:aws:s3:::Bad_Bucket",
        "arn:aws:kinesis:us-west-2:111122223333:stream/s",
    ],
)
def test_unsupported_destination(arn: str) -> None:
    """Anything but a log group, bucket or delivery stream is refused."""
    with pytest.raises(UnsupportedDestinationError):
        destination_path(arn, "svc-1", ACCOUNT, REGION, WHEN)


@pytest.mark.parametrize(
    ("resource_id", "account", "region"),
    [("../svc", ACCOUNT, REGION), ("svc-1", "../x", REGION), ("svc-1", ACCOUNT, "us/west")],
)
def test_malformed_identifiers_are_refused(resource_id: str, account: str, region: str) -> None:
    """A resource id, account or region that could leave the logs directory is a ValueError."""
    with pytest.raises(ValueError, match="does not look like one"):
        destination_path("arn:aws:s3:::bucket", resource_id, account, region, WHEN)


@given(st.text(alphabet="abc./#_-", min_size=1, max_size=40))
def test_any_log_group_name_stays_one_directory(name: str) -> None:
    """Whatever the log group name, it becomes one directory below cloudwatch/A/R, never `.` or `..`."""
    path = destination_path(f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:{name}", "svc-1", ACCOUNT, REGION, WHEN)
    assert len(path.parts) == 5
    assert path.parts[3] not in ("", ".", "..")


@given(st.text(alphabet="ab./", max_size=40))
def test_any_s3_prefix_stays_inside_the_bucket(prefix: str) -> None:
    """Whatever the key prefix, no path segment is `.` or `..` and the key stays under s3/BUCKET."""
    path = destination_path(f"arn:aws:s3:::bucket/{prefix}", "svc-1", ACCOUNT, REGION, WHEN)
    assert path.parts[:2] == ("s3", "bucket")
    assert not {".", "..", ""} & set(path.parts)


# Any text a request can carry: latin-1 from the wire (quotes, backslashes, controls, obs-text) and beyond.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_MAYBE = st.none() | _TEXT
_TIME = st.floats(START - 5, START + 5)


@given(
    st.fixed_dictionaries(
        {
            "start": _TIME,
            "end": _TIME,
            "request_sent_to_target": st.none() | _TIME,
            "response_started": st.none() | _TIME,
            "source_port": st.integers(0, 65535),
            "vpc": st.sampled_from([None, VPC]),
            "service": st.sampled_from([None, SERVICE]),
            "network_arn": st.sampled_from([None, NETWORK_ARN]),
            "target_group_arn": st.none() | st.just(TG_ARN),
            "target_address": _MAYBE,
            "method": _TEXT,
            "path": _TEXT,
            "protocol": st.sampled_from(["HTTP/1.1", "HTTP/2"]),
            "host_header": _MAYBE,
            "user_agent": _MAYBE,
            "sni": _MAYBE,
            "tls_version": _MAYBE,
            "tls_cipher": _MAYBE,
            "status": st.integers(0, 599),
            "grpc_status": st.none() | st.integers(0, 16),
            "bytes_received": st.integers(0, 2**40),
            "bytes_sent": st.integers(0, 2**40),
            "request_id": _TEXT,
            "failure_reason": st.none() | st.sampled_from(sorted(FAILURE_REASONS)),
            "resolved_user": st.sampled_from([ANONYMOUS, "Unknown", "arn:aws:iam::1:role/x"]),
            "auth_denied_reason": st.none() | st.sampled_from(sorted(AUTH_DENIED_REASONS)),
            "caller_principal": _MAYBE,
            "caller_principal_tags": _MAYBE,
            "caller_x509_subject_cn": _MAYBE,
            "caller_x509_san_dns": _MAYBE,
        }
    )
)
def test_access_line_is_the_encoded_access_record_byte_for_byte(fields: dict[str, Any]) -> None:
    """The fast line writer and the reference record agree for any exchange."""
    exchange = _exchange(**fields)
    assert access_line(exchange) == encode_record(access_record(exchange))


# --- the relay's path: straight from the trace, no Exchange --------------------------------------------------

_LISTENER = ListenerView("listener-0123456789abcdef0", "arn:listener", "HTTP", 80, ())
_GROUP = TargetGroupView("tg-0277f384abfefe8aa", TG_ARN, "IP", "HTTP", "HTTP1", 80, {}, "V2", ())
_PRINCIPAL = Principal(
    "arn:aws:iam::111122223333:role/caller", ACCOUNT, "Role", "o-abc", MappingProxyType({"team": "a;b"})
)
_ACCESSES = st.sampled_from(
    [
        OPEN,
        Access(allowed=True, checked=True, principal=_PRINCIPAL),
        Access(False, True, None, True, None, 403, "signature"),
        Access(False, True, _PRINCIPAL, False, "Network", 403, "denied"),
    ]
)
_DECISIONS = st.one_of(
    st.none(),
    st.builds(Refusal, st.sampled_from([404, 403]), _TEXT, st.none(), st.sampled_from([None, SERVICE]), _ACCESSES),
    st.builds(FixedReply, st.sampled_from([404, 500]), st.just(SERVICE), st.just(_LISTENER), _ACCESSES),
    st.builds(
        Forwarding,
        st.just(SERVICE),
        st.just(_LISTENER),
        st.just(_GROUP),
        st.just(TargetView("10.0.0.1", 80, "HEALTHY")),
        st.sampled_from([NETWORK_ARN, "arn:aws:vpc-lattice:eu-west-1:444455556666:servicenetwork/sn-1"]),
        _ACCESSES,
    ),
)


@st.composite
def _traces(draw: st.DrawFn) -> Trace:
    trace = Trace(start=draw(_TIME), vpc=draw(st.sampled_from([None, VPC])), source=("10.0.0.9", 40000))
    trace.method, trace.target, trace.host, trace.user_agent = draw(st.tuples(_TEXT, _TEXT, _TEXT, _TEXT))
    trace.status, trace.bytes_received, trace.bytes_sent = draw(st.tuples(*[st.integers(0, 2**40)] * 3))
    trace.request_id, trace.decision = draw(_TEXT), draw(_DECISIONS)
    trace.failure_reason = draw(st.none() | st.sampled_from(sorted(FAILURE_REASONS)))
    trace.target_address, trace.sni, trace.tls_version, trace.tls_cipher = draw(st.tuples(*[_MAYBE] * 4))
    trace.sent_to_target, trace.response_started = draw(st.none() | _TIME), draw(st.none() | _TIME)
    trace.end = draw(_TIME)
    return trace


@given(_traces())
def test_request_line_is_the_line_of_the_traces_exchange(trace: Trace) -> None:
    """The hot path's line, read from the trace, is byte for byte the line of the Exchange the trace makes."""
    assert request_line(trace) == access_line(trace.finished())


@given(_traces(), st.sampled_from([{}, {SERVICE.id: ("arn:aws:s3:::svc",)}, {"sn-0e05d75deabe9f290": ("s",)}]))
def test_log_router_finds_what_log_targets_finds(trace: Trace, subscribed: dict[str, tuple[str, ...]]) -> None:
    """The router's cached answer for a trace is `log_targets` of its Exchange, asked twice."""
    router = LogRouter(subscribed)
    expected = log_targets(trace.finished(), subscribed)
    assert router.targets(trace) == expected
    assert router.targets(trace) == expected


@pytest.mark.parametrize(
    "milliseconds", [-2.5, -0.5, -0.0, 0.0, 0.4999, 0.5, 0.5001, 1.5, 2.5, 3.5, 999.5, 1000.5, 2**53 + 2.0, 1e20]
)
def test_fast_duration_text_rounds_like_the_records_duration(milliseconds: float) -> None:
    """Half to even, negatives clamped to 0, no exponent: the line's text is the record's number."""
    assert _ms_text(0.0, milliseconds / 1000) == json.dumps(_ms(0.0, milliseconds / 1000))


@given(st.floats(0, 1e9), st.floats(-1, 1e6))
def test_fast_duration_text_equals_the_records_duration_for_any_times(since: float, elapsed: float) -> None:
    assert _ms_text(since, since + elapsed) == json.dumps(_ms(since, since + elapsed))


def test_a_route_reused_by_many_requests_keeps_each_requests_own_values() -> None:
    """The cached parts of one decision and VPC carry no request's values: two requests, two lines."""
    decision = Forwarding(SERVICE, _LISTENER, _GROUP, TargetView("10.0.0.1", 80, "HEALTHY"), NETWORK_ARN, OPEN)
    traces = []
    for status, request_id in ((200, "a"), (503, "b")):
        trace = Trace(start=START, vpc=VPC, source=("10.0.0.9", 40000), status=status, request_id=request_id)
        trace.decision, trace.end = decision, START + 0.25
        traces.append(trace)
    lines = [request_line(trace) for trace in traces]
    assert lines == [access_line(trace.finished()) for trace in traces]
    assert [json.loads(line)["responseCode"] for line in lines] == [200, 503]
