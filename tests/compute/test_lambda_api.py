"""The Lambda API with real boto3 `lambda` clients against a real `latticework server`."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from functions_kit import ECHO, ROLE, lambda_client_for, package


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_create_returns_the_configuration_lambda_reports(lambda_client: Any, unique: Callable[[str], str]) -> None:
    name = unique("fn")
    zipped = package({"app.py": ECHO})
    config = lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zipped},
        Environment={"Variables": {"GREETING": "hi"}},
    )
    assert config["FunctionArn"] == f"arn:aws:lambda:us-west-2:000000000000:function:{name}"
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(zipped).digest()).decode()
    assert config["CodeSize"] == len(zipped)
    assert (config["Timeout"], config["MemorySize"], config["Version"]) == (3, 128, "$LATEST")
    assert config["State"] == "Active"
    assert lambda_client.get_function_configuration(FunctionName=name)["CodeSha256"] == config["CodeSha256"]
    got = lambda_client.get_function(FunctionName=config["FunctionArn"])
    assert got["Configuration"]["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert name in [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]]


def test_invoke_runs_the_handler_with_the_context(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function(ECHO, Environment={"Variables": {"GREETING": "hello"}}, MemorySize=256)
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"n": 1}))
    body = json.loads(response["Payload"].read())
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert body["event"] == {"n": 1}
    assert body["function_name"] == name
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"].endswith(f":function:{name}")
    assert body["memory_limit_in_mb"] == "256"
    assert body["log_group_name"] == f"/aws/lambda/{name}"
    assert "[$LATEST]" in body["log_stream_name"]
    assert body["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert 0 < body["remaining"] <= 3000
    assert body["greeting"] == "hello"


def test_warm_worker_is_reused(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function(ECHO)
    pids = {json.loads(lambda_client.invoke(FunctionName=name)["Payload"].read())["pid"] for _ in range(5)}
    assert len(pids) == 1


def test_log_tail_holds_start_output_end_report(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function(ECHO)
    response = lambda_client.invoke(FunctionName=name, Payload=b'{"k": "v"}', LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["RequestId"]
    lines = tail.splitlines()
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert "got {'k': 'v'}" in lines
    assert f"END RequestId: {request_id}" in lines
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert "Init Duration: " in lines[-1]  # the first invocation was a cold start


def test_log_tail_is_the_last_4_kb(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function("def handler(event, context):\n    print('x' * 10000)\n    return 1\n")
    response = lambda_client.invoke(FunctionName=name, LogType="Tail")
    tail = base64.b64decode(response["LogResult"])
    assert len(tail) == 4096
    assert tail.rstrip().splitlines()[-1].startswith(b"REPORT RequestId:")


def test_handler_error_returns_lambdas_error_payload(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function("def handler(event, context):\n    raise KeyError('missing')\n")
    response = lambda_client.invoke(FunctionName=name)
    error = json.loads(response["Payload"].read())
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'missing'"
    assert "line 2, in handler" in error["stackTrace"][0]


@pytest.mark.parametrize(
    ("source", "handler", "error_type"),
    [
        ("def handler(e, c):\n    return 1\n", "nomodule.handler", "Runtime.ImportModuleError"),
        ("def handler(e, c):\n    return 1\n", "app.other", "Runtime.HandlerNotFound"),
        ("def handler(e, c):\n  return (\n", "app.handler", "Runtime.UserCodeSyntaxError"),
        ("def handler(e, c):\n    return {1}\n", "app.handler", "Runtime.MarshalError"),
    ],
)
def test_init_and_marshal_errors(
    lambda_client: Any, make_function: Callable[..., str], source: str, handler: str, error_type: str
) -> None:
    name = make_function(source, Handler=handler)
    response = lambda_client.invoke(FunctionName=name)
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == error_type


def test_event_and_dry_run(lambda_client: Any, make_function: Callable[..., str], server: Any) -> None:
    name = make_function("def handler(event, context):\n    print('event-ran', event['n'])\n")
    assert lambda_client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    assert lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 7}')["StatusCode"] == 202
    log = server.state_dir / "logs" / "functions" / f"{name}.log"
    _eventually(lambda: log.exists() and "event-ran 7" in log.read_text())


def test_update_code_and_configuration_take_effect(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function("def handler(e, c):\n    return 'v1'\n")
    assert lambda_client.invoke(FunctionName=name)["Payload"].read() == b'"v1"'
    updated = lambda_client.update_function_code(
        FunctionName=name, ZipFile=package({"app.py": "import os\ndef handler(e, c):\n    return os.environ['VER']\n"})
    )
    lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": {"VER": "v2"}}, Timeout=9)
    config = lambda_client.get_function_configuration(FunctionName=name)
    assert config["CodeSha256"] == updated["CodeSha256"]
    assert config["Timeout"] == 9
    assert lambda_client.invoke(FunctionName=name)["Payload"].read() == b'"v2"'


def test_local_code_path(lambda_client: Any, unique: Callable[[str], str], tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "main.py").write_text("def run(event, context):\n    return 'from-dir'\n")
    name = unique("fn")
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="pkg/main.run",
        Code={"S3Bucket": "local", "S3Key": str(tmp_path)},
    )
    assert lambda_client.invoke(FunctionName=name)["Payload"].read() == b'"from-dir"'


def test_delete_then_not_found(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function(ECHO)
    lambda_client.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName=name)
    assert error_of(excinfo) == (
        "ResourceNotFoundException",
        404,
        f"Function not found: arn:aws:lambda:us-west-2:000000000000:function:{name}",
    )


_BIG = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
_CREATE = {"Runtime": "python3.11", "Role": ROLE, "Handler": "a.b", "Code": {"ZipFile": package({})}}


@pytest.mark.parametrize(
    ("operation", "arguments", "code", "status"),
    [
        ("invoke", {"Payload": b"{not json"}, "InvalidRequestContentException", 400),
        ("invoke", {"Qualifier": "7"}, "ResourceNotFoundException", 404),
        ("invoke", {"Payload": _BIG}, "RequestTooLargeException", 413),
        ("update_function_configuration", {"Timeout": 901}, "InvalidParameterValueException", 400),
        ("update_function_configuration", {"Runtime": "python3.7"}, "InvalidParameterValueException", 400),
        ("update_function_configuration", {"Runtime": "nodejs20.x"}, "InvalidParameterValueException", 400),
        (
            "update_function_configuration",
            {"Environment": {"Variables": {"AWS_REGION": "x"}}},
            "InvalidParameterValueException",
            400,
        ),
        ("update_function_configuration", {"RevisionId": "stale"}, "PreconditionFailedException", 412),
        ("update_function_code", {"S3Bucket": "bucket", "S3Key": "k.zip"}, "InvalidParameterValueException", 400),
        ("update_function_code", {"ZipFile": b"not a zip"}, "InvalidParameterValueException", 400),
        ("create_function", _CREATE, "ResourceConflictException", 409),
        ("put_function_concurrency", {"ReservedConcurrentExecutions": 901}, "InvalidParameterValueException", 400),
        ("get_policy", {}, "ResourceNotFoundException", 404),
        ("remove_permission", {"StatementId": "nope"}, "ResourceNotFoundException", 404),
    ],
)
def test_errors_in_lambdas_shapes(
    lambda_client: Any,
    make_function: Callable[..., str],
    operation: str,
    arguments: dict[str, Any],
    code: str,
    status: int,
) -> None:
    name = make_function(ECHO)
    with pytest.raises(ClientError) as excinfo:
        getattr(lambda_client, operation)(FunctionName=name, **arguments)
    assert error_of(excinfo)[:2] == (code, status)


def test_throttle_with_reserved_concurrency_zero(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function(ECHO)
    assert (
        lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)[
            "ReservedConcurrentExecutions"
        ]
        == 0
    )
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName=name)
    assert error_of(excinfo) == ("TooManyRequestsException", 429, "Rate Exceeded.")
    assert excinfo.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert lambda_client.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    lambda_client.delete_function_concurrency(FunctionName=name)
    assert lambda_client.invoke(FunctionName=name)["StatusCode"] == 200


def test_permissions_round_trip(lambda_client: Any, make_function: Callable[..., str]) -> None:
    name = make_function(ECHO)
    target_group = "arn:aws:vpc-lattice:us-west-2:000000000000:targetgroup/tg-0123456789abcdef0"
    statement = json.loads(
        lambda_client.add_permission(
            FunctionName=name,
            StatementId="lattice",
            Action="lambda:InvokeFunction",
            Principal="vpc-lattice.amazonaws.com",
            SourceArn=target_group,
        )["Statement"]
    )
    assert statement["Principal"] == {"Service": "vpc-lattice.amazonaws.com"}
    assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": target_group}}
    policy = json.loads(lambda_client.get_policy(FunctionName=name)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["lattice"]
    with pytest.raises(ClientError) as excinfo:
        lambda_client.add_permission(
            FunctionName=name, StatementId="lattice", Action="lambda:InvokeFunction", Principal="123456789012"
        )
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
    lambda_client.remove_permission(FunctionName=name, StatementId="lattice")
    with pytest.raises(ClientError):
        lambda_client.get_policy(FunctionName=name)


def test_functions_survive_a_restart(make_server: Callable[..., Any]) -> None:
    server = make_server()
    client = lambda_client_for(server)
    client.create_function(
        FunctionName="kept",
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": package({"app.py": ECHO})},
    )
    server.stop()
    server.start()
    client = lambda_client_for(server)
    assert json.loads(client.invoke(FunctionName="kept")["Payload"].read())["function_name"] == "kept"


def test_regions_are_separate(server: Any, make_function: Callable[..., str]) -> None:
    name = make_function(ECHO)
    with pytest.raises(ClientError) as excinfo:
        lambda_client_for(server, region="eu-west-1").get_function(FunctionName=name)
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def _eventually(check: Callable[[], bool], attempts: int = 200) -> None:
    import time

    for _ in range(attempts):
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in 10 s")
