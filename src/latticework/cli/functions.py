"""`latticework invoke FUNCTION [--payload JSON | --payload-file F]`: invoke a function through the Lambda API
of a running server (boto3, so it behaves as `aws lambda invoke` does) and print its response; `--tail` also
prints the last 4 KB of its log. Exit status 1 on a function error."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["invoke"]


def invoke(
    function: Annotated[str, typer.Argument(help="Function name or ARN.")],
    payload: Annotated[str | None, typer.Option("--payload", help="The event, as JSON.")] = None,
    payload_file: Annotated[Path | None, typer.Option("--payload-file", help="Read the event from a file.")] = None,
    tail: Annotated[bool, typer.Option("--tail", help="Print the invocation's log tail to stderr.")] = False,
    endpoint: Annotated[
        str, typer.Option("--endpoint", envvar="AWS_ENDPOINT_URL", help="The Latticework API.")
    ] = "http://127.0.0.1:9750",
    region: Annotated[str, typer.Option("--region", envvar="AWS_REGION")] = "us-west-2",
) -> None:
    """Invoke a function synchronously and print what it returned."""
    if payload is not None and payload_file is not None:
        raise typer.BadParameter("give --payload or --payload-file, not both")
    body = payload_file.read_bytes() if payload_file is not None else (payload or "{}").encode()
    try:
        json.loads(body)
    except ValueError as exc:
        raise typer.BadParameter(f"the payload is not JSON: {exc}") from None
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "lambda", endpoint_url=endpoint, region_name=region, aws_access_key_id="local", aws_secret_access_key="local"
    )
    try:
        response = client.invoke(FunctionName=function, Payload=body, LogType="Tail" if tail else "None")
    except (ClientError, BotoCoreError) as exc:
        typer.echo(f"latticework invoke: {exc}", err=True)
        raise typer.Exit(2) from None
    if tail:
        sys.stderr.write(base64.b64decode(response.get("LogResult", "")).decode(errors="replace"))
    typer.echo(response["Payload"].read().decode(errors="replace"))
    if response.get("FunctionError"):
        raise typer.Exit(1)
