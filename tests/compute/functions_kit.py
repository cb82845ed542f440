"""Helpers the function tests share: deployment packages from source text, and handler sources."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import boto3
from botocore.config import Config

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def package(files: dict[str, str]) -> bytes:
    """A deployment package (zip) holding these files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def lambda_client_for(server: Any, region: str = "us-west-2") -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=server.url,
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=50, read_timeout=120),
    )


ECHO = """
import os

def handler(event, context):
    print("got", event)
    return {
        "event": event,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
        "greeting": os.environ.get("GREETING"),
    }
"""

FAULTS = """
import os
import time

leak = []

def handler(event, context):
    action = event.get("action")
    if action == "sleep":
        time.sleep(event["seconds"])
    elif action == "exit":
        os._exit(event.get("status", 1))
    elif action == "leak":
        while True:
            leak.append(bytearray(8 * 1024 * 1024))
    elif action == "raise":
        raise ValueError("boom")
    elif action == "unserialisable":
        return {1, 2}
    return {"ok": True, "pid": os.getpid()}
"""
