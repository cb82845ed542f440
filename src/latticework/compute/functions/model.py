"""Values of the function runtime: a function's definition as the runtime needs it, the result of one
invocation, and the errors the runtime raises.

    FunctionsError
    +-- FunctionNotFound       no such function (the API answers ResourceNotFoundException 404)
    +-- InvocationThrottled    no concurrency left (TooManyRequestsException 429 with `reason`)
    +-- RuntimeUnavailable     no interpreter for the function's runtime on this machine

The store document of a function (kind `lambda:function`) is the API's FunctionConfiguration plus private
`_`-prefixed keys; `FunctionDefinition.from_doc` is the one place that reads it for the runtime. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "FUNCTION_KIND",
    "FunctionDefinition",
    "FunctionNotFound",
    "FunctionsError",
    "InvocationThrottled",
    "InvokeResult",
    "RuntimeUnavailable",
]

FUNCTION_KIND = "lambda:function"


class FunctionsError(Exception):
    """Something the runtime could not do; the API layer maps each kind to Lambda's error shape."""


class FunctionNotFound(FunctionsError):
    def __init__(self, function_arn: str) -> None:
        super().__init__(f"Function not found: {function_arn}")
        self.function_arn = function_arn


class InvocationThrottled(FunctionsError):
    def __init__(self, reason: str) -> None:
        super().__init__("Rate Exceeded.")
        self.reason = reason


class RuntimeUnavailable(FunctionsError):
    pass


@dataclass(frozen=True, slots=True)
class FunctionDefinition:
    """What a worker environment is started from. `revision` changes with every code or configuration update,
    so warm workers of an older revision are retired instead of reused."""

    name: str
    arn: str
    account: str
    region: str
    handler: str
    runtime: str
    code_dir: str
    timeout: int
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    reserved: int | None
    revision: str

    @classmethod
    def from_doc(cls, account: str, region: str, doc: dict[str, Any]) -> FunctionDefinition:
        variables = (doc.get("Environment") or {}).get("Variables") or {}
        return cls(
            name=doc["FunctionName"],
            arn=doc["FunctionArn"],
            account=account,
            region=region,
            handler=doc["Handler"],
            runtime=doc["Runtime"],
            code_dir=doc["_codeDir"],
            timeout=int(doc["Timeout"]),
            memory_mb=int(doc["MemorySize"]),
            environment=tuple(sorted(variables.items())),
            reserved=doc.get("_reserved"),
            revision=doc["RevisionId"],
        )


@dataclass(frozen=True, slots=True)
class InvokeResult:
    """One finished invocation. `function_error` is `Unhandled` when the payload is an error document (the
    X-Amz-Function-Error header); `log_tail` is the last 4 KB of this invocation's log lines."""

    request_id: str
    payload: bytes
    function_error: str | None
    log_tail: bytes
    duration_ms: float
    init_ms: float | None = None
    status: int = 200
