"""LAMBDA target groups end to end: a real server, real functions created with boto3 `lambda` from a zip, a
Lattice service forwarding to a LAMBDA group, and requests through the VPC's ingress. The handlers echo what
they got, so each test sees the event exactly as the function saw it."""

from __future__ import annotations

import base64
import gzip
import http.client
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import VpcLatticeModel
from botocore.config import Config
from topology import Network, eventually, forward

from latticework.auth.principals import Identity, parse_principal_arn
from latticework.cli.call import sign_request
from latticework.compute.functions.model import FunctionNotFound, InvocationThrottled
from latticework.dataplane.lambda_target import Invocation, InvokeFailed, _invocation

ECHO_EVENT = """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""

# Sends the request body back as it arrived: the base64 flag and body of the event become the response's.
MIRROR = """
def _first(value):
    return value[0] if isinstance(value, list) else value

def handler(event, context):
    encoded = event.get("is_base64_encoded", event.get("isBase64Encoded"))
    headers = {"x-was-base64": str(encoded).lower()}
    for name in ("content-type", "content-encoding"):
        if name in event["headers"]:
            headers[name] = _first(event["headers"][name])
    return {"statusCode": 200, "isBase64Encoded": encoded, "headers": headers, "body": event["body"]}
"""

BEHAVIOURS = """
import time

def handler(event, context):
    path = event.get("raw_path") or event.get("path")
    if path == "/raise":
        raise ValueError("boom")
    if path == "/sleep":
        time.sleep(5)
    if path == "/malformed":
        return {"body": "no statusCode"}
    if path == "/split":
        return {"statusCode": 200, "headers": {"x-a": "1\\r\\nx-injected: 1"}, "body": "no"}
    if path == "/big":
        return {"statusCode": 200, "body": "x" * (6 * 1024 * 1024 + 10)}
    if path == "/headers":
        return {
            "statusCode": 201,
            "statusDescription": "201 Made",
            "headers": {"x-one": "1", "connection": "close", "transfer-encoding": "chunked", "content-length": "1"},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
            "body": "made",
        }
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "ok"}
"""

ALICE = Identity(
    "AKIAALICE00000000009",
    "alice-secret",
    parse_principal_arn("arn:aws:sts::111122223333:assumed-role/orders-caller/session-7", "o-retail0001"),
    session_token="alice-token",
)
ANYONE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "vpc-lattice-svcs:Invoke", "Resource": "*"}],
}
LOG_GROUP = "arn:aws:logs:us-west-2:000000000000:log-group:functions"


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@dataclass
class Functions:
    """A network with one VPC, plus LAMBDA-backed services made on demand."""

    network: Network
    vpc: str

    @property
    def lam(self) -> Any:
        return boto3.client(
            "lambda",
            endpoint_url=self.network.server.url,
            region_name="us-west-2",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            config=Config(retries={"max_attempts": 1}),
        )

    def function(self, source: str, timeout: int = 3) -> str:
        name = _name("fn")
        created = self.lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role="arn:aws:iam::000000000000:role/lambda-role",
            Handler="app.handler",
            Code={"ZipFile": package(source)},
            Timeout=timeout,
        )
        return str(created["FunctionArn"])

    def group(self, function_arn: str, version: str = "V1") -> dict[str, Any]:
        lattice = self.network.lattice
        group = lattice.create_target_group(
            name=_name("group"), type="LAMBDA", config={"lambdaEventStructureVersion": version}
        )
        lattice.register_targets(targetGroupIdentifier=group["id"], targets=[{"id": function_arn}])
        return dict(group)

    def service(self, *groups: tuple[str, int], **kwargs: Any) -> dict[str, Any]:
        return dict(self.network.service(_name("service"), forward(*groups), **kwargs))

    def lambda_service(self, source: str, version: str = "V1", timeout: int = 3) -> str:
        return host_of(self.service((self.group(self.function(source, timeout), version)["id"], 100)))

    def connection(self) -> http.client.HTTPConnection:
        """A keep-alive connection to the VPC's ingress, sending proxy (absolute-form) requests."""
        return http.client.HTTPConnection("127.0.0.1", self.network.ingress_port(self.vpc), timeout=30)


def send(
    connection: http.client.HTTPConnection, host: str, path: str, method: str = "GET", body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPResponse, bytes]:  # fmt: skip
    connection.request(method, f"http://{host}{path}", body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response, response.read()


_counter = iter(range(10**9))


def _name(prefix: str) -> str:
    return f"{prefix}-l{os.getpid()}-{next(_counter)}"


def host_of(service: dict[str, Any]) -> str:
    return str(service["dnsEntry"]["domainName"])


def _open_network(server: Any) -> Functions:
    lattice = server.client()
    network = Network(server, lattice, server.client("ec2"), lattice.create_service_network(name=_name("sn")))
    return Functions(network, network.add_vpc(_name("vpc")))


@pytest.fixture
def functions(server: Any) -> Functions:
    """The session's server, with a service network and VPC of this test's own."""
    return _open_network(server)


@pytest.fixture
def private(make_server: Callable[..., Any]) -> Callable[..., Functions]:
    """A server of the test's own, started with these flags."""
    return lambda *args: _open_network(make_server(*args))


def test_v1_event_is_what_lattice_sends_and_parses_with_powertools(functions: Functions) -> None:
    host = functions.lambda_service(ECHO_EVENT, "V1")
    connection = functions.connection()
    headers = {"Accept": "a", "X-Multi": "one", "Content-Type": "application/json"}
    connection.putrequest("POST", f"http://{host}/orders/7?id=1&id=2&q=caf%C3%A9", skip_accept_encoding=True)
    for name, value in [*headers.items(), ("X-Multi", "two"), ("Content-Length", "9")]:
        connection.putheader(name, value)
    connection.endheaders(b'{"n": 1} ')
    response = connection.getresponse()
    event = json.loads(response.read())
    assert response.status == 200, event
    VpcLatticeModel.model_validate(event)
    assert (event["raw_path"], event["method"]) == ("/orders/7", "POST")
    # Lattice UG: V1 joins repeated headers with ", " and keeps the last value of a repeated query parameter.
    assert event["headers"]["x-multi"] == "one, two"
    assert event["query_string_parameters"] == {"id": "2", "q": "café"}
    assert (event["body"], event["is_base64_encoded"]) == ('{"n": 1} ', False)
    assert event["headers"]["x-amzn-source-vpc"] == functions.vpc
    assert event["headers"]["host"] == host
    assert "requestContext" not in event


def test_v2_event_has_value_lists_and_the_request_context(functions: Functions) -> None:
    function_arn = functions.function(ECHO_EVENT)
    group = functions.group(function_arn, "V2")
    host = host_of(functions.service((group["id"], 100)))
    connection = functions.connection()
    connection.putrequest("GET", f"http://{host}/items?tag=a&tag=b")
    connection.putheader("X-Multi", "one")
    connection.putheader("X-Multi", "two")
    connection.endheaders()
    response = connection.getresponse()
    event = json.loads(response.read())
    assert response.status == 200, event
    assert (event["version"], event["path"], event["method"]) == ("2.0", "/items", "GET")
    assert event["headers"]["x-multi"] == ["one", "two"]
    assert event["queryStringParameters"] == {"tag": ["a", "b"]}
    context = event["requestContext"]
    assert context["targetGroupArn"] == group["arn"]
    assert context["serviceNetworkArn"] == functions.network.network["arn"]
    assert context["serviceArn"].startswith("arn:aws:vpc-lattice:us-west-2:000000000000:service/svc-")
    assert context["region"] == "us-west-2"
    # Not signed, no auth policy: the identity is only where the request came from.
    assert context["identity"] == {"sourceVpcArn": f"arn:aws:ec2:us-west-2:000000000000:vpc/{functions.vpc}"}
    assert context["timeEpoch"].isdigit() and len(context["timeEpoch"]) == 16  # microseconds
    # Lattice UG "Health checks": none for LAMBDA groups; the target stays as the control plane reports it.
    [target] = functions.network.lattice.list_targets(targetGroupIdentifier=group["id"])["items"]
    assert (target["id"], target["status"]) == (function_arn, "UNAVAILABLE")


GZIPPED = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
BODIES = [
    ("json", b'{"order": 1}', {"Content-Type": "application/json"}, "false"),
    ("text", "héllo wörld".encode(), {"Content-Type": "text/plain; charset=utf-8"}, "false"),
    ("binary", bytes(range(256)) * 4, {"Content-Type": "application/octet-stream"}, "true"),
    ("gzip", gzip.compress(b'{"a": 1}', mtime=0), GZIPPED, "true"),
    ("empty", b"", {"Content-Type": "application/json"}, "false"),
]  # fmt: skip


@pytest.mark.parametrize("version", ["V1", "V2"])
def test_bodies_of_every_kind_round_trip_through_the_function(functions: Functions, version: str) -> None:
    host = functions.lambda_service(MIRROR, version)
    connection = functions.connection()  # one keep-alive connection for every body
    for kind, body, headers, base64_flag in BODIES:
        status, response, data = send(connection, host, "/mirror", "POST", body, headers)
        assert status == 200, (kind, data)
        assert data == body, kind
        assert response.getheader("x-was-base64") == base64_flag, kind
        assert response.getheader("content-length") == str(len(body))
        assert response.getheader("content-encoding") == headers.get("Content-Encoding")


def test_response_headers_are_mapped_and_the_connection_stays_open(functions: Functions) -> None:
    host = functions.lambda_service(BEHAVIOURS)
    connection = functions.connection()
    status, response, data = send(connection, host, "/headers")
    assert (status, response.reason, data) == (201, "Made", b"made")
    assert response.getheader("x-one") == "1"
    assert response.headers.get_all("set-cookie") == ["a=1", "b=2"]
    # Lattice computes Content-Length and ignores hop-by-hop headers from the function.
    assert response.getheader("content-length") == "4" and response.getheader("transfer-encoding") is None
    assert response.getheader("connection") is None and response.getheader("x-amzn-requestid")
    first_socket = connection.sock
    status, _, data = send(connection, host, "/")
    assert (status, data) == (200, b"ok") and connection.sock is first_socket


def _records(server: Any) -> list[dict[str, Any]]:
    logs = Path(server.state_dir) / "logs" / "cloudwatch"
    return [json.loads(line) for path in logs.rglob("*.log") for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    ("path", "failure_reason"),
    [
        ("/raise", "TargetProtocolError"),  # handler raised: FunctionError Unhandled
        ("/sleep", "TargetDataTimeout"),  # past its 1 s timeout: Sandbox.Timedout
        ("/malformed", "TargetProtocolError"),  # no statusCode
        ("/big", "TargetProtocolError"),  # response JSON over 6 MB
        ("/split", "TargetProtocolError"),  # a header value with CR LF would split the response
    ],
)
def test_function_failures_are_502_with_the_failure_reason_logged(
    functions: Functions, path: str, failure_reason: str
) -> None:
    function_arn = functions.function(BEHAVIOURS, timeout=1)
    service = functions.service((functions.group(function_arn)["id"], 100))
    host = host_of(service)
    functions.network.lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=LOG_GROUP)
    functions.network.settle()
    connection = functions.connection()
    status, _, _ = send(connection, host, path)
    assert status == 502
    status, _, data = send(connection, host, "/")  # the function and the connection both keep serving
    assert (status, data) == (200, b"ok")

    def logged() -> list[dict[str, Any]]:
        return [r for r in _records(functions.network.server) if r["hostHeader"] == host and r["requestPath"] == path]

    eventually(lambda: logged() != [])
    [record] = logged()
    assert (record["responseCode"], record["failureReason"]) == (502, failure_reason)
    assert record["targetIpPort"] == function_arn


def test_a_body_over_6_mb_is_refused_with_413_and_the_function_is_not_invoked(functions: Functions) -> None:
    host = functions.lambda_service(ECHO_EVENT)
    connection = functions.connection()
    status, _, _ = send(connection, host, "/upload", "POST", b"x" * (6 * 1024 * 1024 + 1))
    assert status == 413
    status, _, data = send(connection, host, "/small", "POST", b"x" * 1024, {"Content-Type": "text/plain"})
    assert status == 200 and json.loads(data)["body"] == "x" * 1024


def test_an_unknown_function_is_a_5xx(functions: Functions) -> None:
    missing = "arn:aws:lambda:us-west-2:000000000000:function:never-created"
    host = host_of(functions.service((functions.group(missing)["id"], 100)))
    status, _, _ = send(functions.connection(), host, "/")
    assert status == 502


def test_weighted_split_between_a_lambda_group_and_an_ip_group(functions: Functions, backend: Any) -> None:
    lambda_group = functions.group(functions.function(BEHAVIOURS))
    ip_group = functions.network.target_group("ip-half", backend("ip-half"))
    host = host_of(functions.service((lambda_group["id"], 50), (ip_group, 50)))
    connection = functions.connection()
    seen = set()
    for _ in range(40):
        status, _, data = send(connection, host, "/")
        assert status == 200
        seen.add("lambda" if data == b"ok" else json.loads(data)["backend"])
    assert seen == {"lambda", "ip-half"}


def test_v2_identity_names_the_signed_caller(private: Callable[..., Functions], tmp_path: Path) -> None:
    principals = tmp_path / "principals.json"
    entry = {
        "accessKeyId": ALICE.access_key,
        "secretAccessKey": ALICE.secret_key,
        "sessionToken": ALICE.session_token,
        "arn": ALICE.principal.arn,
        "orgId": ALICE.principal.org_id,
    }
    principals.write_text(json.dumps({"principals": [entry]}))
    functions = private("--principals", str(principals))
    group = functions.group(functions.function(ECHO_EVENT), "V2")
    service = functions.service((group["id"], 100), authType="AWS_IAM")
    host = host_of(service)
    functions.network.lattice.put_auth_policy(resourceIdentifier=service["id"], policy=json.dumps(ANYONE))
    functions.network.settle()
    url = f"http://{host}/whoami"
    signed = sign_request("GET", url, {"host": host}, None, ALICE, "us-west-2")
    status, _, data = send(functions.connection(), host, "/whoami", headers=signed)
    assert status == 200, data
    identity = json.loads(data)["requestContext"]["identity"]
    assert identity == {
        "sourceVpcArn": f"arn:aws:ec2:us-west-2:000000000000:vpc/{functions.vpc}",
        "type": "AWS_IAM",
        "principal": ALICE.principal.arn,
        "principalOrgID": "o-retail0001",
        "sessionName": "session-7",
    }
    status, _, data = send(functions.connection(), host, "/whoami")  # anonymous, allowed by the policy
    assert status == 200 and "type" not in json.loads(data)["requestContext"]["identity"]


def test_strict_mode_invokes_only_functions_that_grant_lattice_permission(private: Callable[..., Functions]) -> None:
    functions = private("--strict")
    function_arn = functions.function(BEHAVIOURS)
    group = functions.group(function_arn)
    host = host_of(functions.service((group["id"], 100)))
    connection = functions.connection()
    assert send(connection, host, "/")[0] == 502
    lam = functions.lam
    # A grant for another target group does not count; one for this group (or any source) does.
    lam.add_permission(
        FunctionName=function_arn,
        StatementId="other-group",
        Action="lambda:InvokeFunction",
        Principal="vpc-lattice.amazonaws.com",
        SourceArn=group["arn"].replace(group["id"], "tg-0000000000000000a"),
    )
    functions.network.settle()
    assert send(connection, host, "/")[0] == 502
    lam.add_permission(
        FunctionName=function_arn,
        StatementId="vpc-lattice",
        Action="lambda:InvokeFunction",
        Principal="vpc-lattice.amazonaws.com",
        SourceArn=group["arn"],
    )
    functions.network.settle()
    status, _, data = send(connection, host, "/")
    assert (status, data) == (200, b"ok")


def test_without_strict_mode_no_permission_is_needed(functions: Functions) -> None:
    host = functions.lambda_service(BEHAVIOURS)
    assert send(functions.connection(), host, "/")[:1] == (200,)


def test_worker_processes_invoke_through_the_servers_lambda_api(private: Callable[..., Functions]) -> None:
    functions = private("--workers", "2")
    host = functions.lambda_service(MIRROR, "V2")
    for i in range(24):  # new connections, so the kernel spreads them over both workers
        body = base64.b64encode(bytes([i]) * 10)
        status, _, data = send(functions.connection(), host, "/", "POST", body, {"Content-Type": "text/plain"})
        assert (status, data) == (200, body)
    connection = functions.connection()  # and kept-alive connections reuse the loopback connection
    for _ in range(5):
        assert send(connection, host, "/", "POST", b"{}", {"Content-Type": "application/json"})[0] == 200


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (200, {}, b'{"statusCode": 200}', Invocation(b'{"statusCode": 200}', None)),
        (200, {"x-amz-function-error": "Unhandled"}, b"{}", Invocation(b"{}", "Unhandled")),
        (404, {}, b'{"Type": "User", "message": "Function not found"}', FunctionNotFound),
        (429, {}, b'{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}', InvocationThrottled),
        (500, {}, b'{"message": "Internal error"}', InvokeFailed),
    ],
)  # fmt: skip
def test_the_loopback_invoke_answer_maps_to_what_the_supervisor_would_have_said(
    status: int, headers: dict[str, str], body: bytes, expected: Any
) -> None:
    if isinstance(expected, Invocation):
        assert _invocation("arn:fn", status, headers, body) == expected
    else:
        with pytest.raises(expected):
            _invocation("arn:fn", status, headers, body)
