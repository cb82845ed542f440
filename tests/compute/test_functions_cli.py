"""`latticework invoke` and `latticework logs --function` against a real server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer
from functions_kit import ECHO
from typer.testing import CliRunner

from latticework.cli.functions import invoke
from latticework.cli.logs import logs


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("invoke")(invoke)
    app.command("logs")(logs)
    return app


def test_invoke_prints_the_payload(server: Any, make_function: Callable[..., str]) -> None:
    name = make_function(ECHO)
    result = CliRunner().invoke(_app(), ["invoke", name, "--payload", '{"x": 1}', "--endpoint", server.url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["event"] == {"x": 1}


def test_invoke_exits_1_on_a_function_error(server: Any, make_function: Callable[..., str]) -> None:
    name = make_function("def handler(e, c):\n    raise RuntimeError('no')\n")
    result = CliRunner().invoke(_app(), ["invoke", name, "--endpoint", server.url])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errorType"] == "RuntimeError"


def test_invoke_refuses_a_payload_that_is_not_json(server: Any) -> None:
    result = CliRunner().invoke(_app(), ["invoke", "f", "--payload", "{nope", "--endpoint", server.url])
    assert result.exit_code == 2
    assert "not JSON" in result.output


def test_logs_function_prints_the_function_log(
    server: Any, make_function: Callable[..., str], lambda_client: Any
) -> None:
    name = make_function(ECHO)
    lambda_client.invoke(FunctionName=name, Payload=b'{"marker": 42}')
    result = CliRunner().invoke(_app(), ["logs", "--function", name, "--state-dir", str(server.state_dir)])
    assert result.exit_code == 0
    assert "got {'marker': 42}" in result.stdout
    assert "REPORT RequestId: " in result.stdout
    access = CliRunner().invoke(_app(), ["logs", "--state-dir", str(server.state_dir)])
    assert "REPORT" not in access.stdout  # function logs stay out of the access log records
