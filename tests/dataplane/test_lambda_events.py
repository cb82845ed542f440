"""Lambda events for LAMBDA target groups (V1 and V2) and the mapping of function responses, checked against
aws-lambda-powertools' VPC Lattice models and round-tripped for every kind of body."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import VpcLatticeModel, VpcLatticeV2Model
from hypothesis import given
from hypothesis import strategies as st

from latticework.dataplane.lambda_events import (
    MAX_PAYLOAD,
    FunctionFailure,
    LatticeRequest,
    TargetContext,
    build_event,
    map_response,
)

CONTEXT = TargetContext(
    "arn:aws:vpc-lattice:us-west-2:000000000000:servicenetwork/sn-0123456789abcdef0",
    "arn:aws:vpc-lattice:us-west-2:000000000000:service/svc-0123456789abcdef0",
    "arn:aws:vpc-lattice:us-west-2:000000000000:targetgroup/tg-0123456789abcdef0",
    "us-west-2",
    (("sourceVpcArn", "arn:aws:ec2:us-west-2:000000000000:vpc/vpc-0123456789abcdef0"),),
)
NOW = 1690497599.177430


def request(body: bytes = b"", content_type: str | None = None, encoding: str | None = None) -> LatticeRequest:
    headers = [("Host", "svc.example"), ("Accept", "a"), ("accept", "b")]
    if content_type:
        headers.append(("Content-Type", content_type))
    if encoding:
        headers.append(("Content-Encoding", encoding))
    return LatticeRequest("POST", "/orders/1", (("id", "1"), ("id", "2"), ("q", "x")), tuple(headers), body)


BODIES = [
    ("json", b'{"order": 1}', "application/json", None, False),
    ("text", "héllo wörld".encode(), "text/plain; charset=utf-8", None, False),
    ("xml", b"<a/>", "application/xml", None, False),
    ("binary", bytes(range(256)), "application/octet-stream", None, True),
    ("gzip-json", gzip.compress(b'{"a": 1}', mtime=0), "application/json", "gzip", True),
    ("no-type", b"raw", None, None, True),
    ("empty", b"", "application/json", None, False),
]


@pytest.mark.parametrize(("kind", "body", "content_type", "encoding", "encoded"), BODIES)
def test_v1_parses_with_powertools_and_round_trips(
    kind: str, body: bytes, content_type: str | None, encoding: str | None, encoded: bool
) -> None:
    event = json.loads(build_event(request(body, content_type, encoding), "V1", CONTEXT, NOW))
    model = VpcLatticeModel.model_validate(event)
    assert model.is_base64_encoded is encoded
    assert _decoded(event["body"], encoded) == body
    assert model.headers["accept"] == "a, b"  # multi-value headers joined
    assert model.query_string_parameters == {"id": "2", "q": "x"}  # the last value wins
    assert model.raw_path == "/orders/1"
    assert "requestContext" not in event


@pytest.mark.parametrize(("kind", "body", "content_type", "encoding", "encoded"), BODIES)
def test_v2_parses_with_powertools_and_round_trips(
    kind: str, body: bytes, content_type: str | None, encoding: str | None, encoded: bool
) -> None:
    event = json.loads(build_event(request(body, content_type, encoding), "V2", CONTEXT, NOW, value_lists=False))
    model = VpcLatticeV2Model.model_validate(event)
    assert model.is_base64_encoded is encoded
    assert _decoded(event["body"], encoded) == body
    assert model.request_context.target_group_arn == CONTEXT.target_group_arn
    assert model.request_context.identity.source_vpc_arn == CONTEXT.identity[0][1]
    assert model.request_context.time_epoch == 1690497599177430


def test_v2_values_are_lists_as_the_aws_doc_shows() -> None:
    event = json.loads(build_event(request(b"{}", "application/json"), "V2", CONTEXT, NOW))
    assert event["version"] == "2.0"
    assert event["headers"]["accept"] == ["a", "b"]
    assert event["queryStringParameters"] == {"id": ["1", "2"], "q": ["x"]}
    assert event["requestContext"]["timeEpoch"] == "1690497599177430"  # microseconds, as a string
    assert event["requestContext"]["region"] == "us-west-2"


def test_identity_carries_only_given_fields() -> None:
    bare = TargetContext("sn", "svc", "tg", "us-west-2")
    event = json.loads(build_event(request(), "V2", bare, NOW))
    assert event["requestContext"]["identity"] == {}
    authenticated = TargetContext("sn", "svc", "tg", "us-west-2", (("type", "AWS_IAM"), ("principal", "arn:p")))
    event = json.loads(build_event(request(), "V2", authenticated, NOW))
    assert event["requestContext"]["identity"] == {"type": "AWS_IAM", "principal": "arn:p"}


def test_request_over_6_mb_is_refused() -> None:
    with pytest.raises(FunctionFailure):
        build_event(request(b"x" * (MAX_PAYLOAD + 1), "text/plain"), "V1", CONTEXT, NOW)


def _decoded(body: str, encoded: bool) -> bytes:
    return base64.b64decode(body) if encoded else body.encode()


def test_response_mapping() -> None:
    answer = {
        "statusCode": 201,
        "statusDescription": "201 Created",
        "isBase64Encoded": True,
        "headers": {"Content-Type": "image/png", "Connection": "close", "Content-Length": "999", "X-One": "1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-One": ["m"]},
        "body": base64.b64encode(b"\x89PNG").decode(),
    }
    response = map_response(json.dumps(answer).encode(), None)
    assert (response.status, response.reason, response.body, response.failure_reason) == (
        201,
        "Created",
        b"\x89PNG",
        None,
    )
    assert response.headers == (
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("X-One", "m"),
        ("Content-Type", "image/png"),
        ("content-length", "4"),
    )


def test_minimal_response_without_body() -> None:
    response = map_response(b'{"statusCode": 204, "isBase64Encoded": false, "headers": {}}', None)
    assert (response.status, response.body, response.headers) == (204, b"", (("content-length", "0"),))


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'"a string"',
        b"{}",
        b'{"statusCode": "200"}',
        b'{"statusCode": 99}',
        b'{"statusCode": true}',
        b'{"statusCode": 200, "body": 5}',
        b'{"statusCode": 200, "isBase64Encoded": true, "body": "***"}',
        b'{"statusCode": 200, "headers": []}',
        b'{"statusCode": 200, "multiValueHeaders": {"a": "b"}}',
        b'{"statusCode": 200, "body": "' + b"x" * MAX_PAYLOAD + b'"}',
    ],
)
def test_malformed_responses_are_502_target_protocol_errors(payload: bytes) -> None:
    response = map_response(payload, None)
    assert (response.status, response.failure_reason) == (502, "TargetProtocolError")


def test_function_error_is_502() -> None:
    response = map_response(b'{"errorMessage": "boom", "errorType": "ValueError"}', "Unhandled")
    assert (response.status, response.failure_reason) == (502, "TargetProtocolError")


@given(body=st.binary(max_size=2048), content_type=st.sampled_from(["application/json", "text/html", "image/png", ""]))
def test_any_body_round_trips(body: bytes, content_type: str) -> None:
    """Whatever the bytes and type, the function can recover exactly the bytes that were sent."""
    for version in ("V1", "V2"):
        event: dict[str, Any] = json.loads(build_event(request(body, content_type or None), version, CONTEXT, NOW))
        encoded = event["is_base64_encoded"] if version == "V1" else event["isBase64Encoded"]
        assert _decoded(event["body"], encoded) == body
