"""Lambda API errors, in Lambda's shapes: the error type in x-amzn-ErrorType, a JSON body with `Type` and
`message` (Lambda API reference "Common Errors" and each operation's Errors section).

    ApiError (control/errors.py)
    +-- LambdaError                         Type "User" unless said otherwise
        +-- ResourceNotFoundException       404  "Function not found: arn:..."
        +-- InvalidParameterValueException  400
        +-- InvalidRequestContentException  400  Invoke payload is not JSON
        +-- ResourceConflictException       409
        +-- PreconditionFailedException     412  RevisionId does not match
        +-- RequestTooLargeException        413  Invoke payload over 6 MB
        +-- TooManyRequestsException        429  Reason + Retry-After
        +-- ServiceException                500  Type "Service"

No I/O here.
"""

from __future__ import annotations

from typing import Any

from latticework.control.errors import ApiError

__all__ = [
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "LambdaError",
    "PreconditionFailedException",
    "RequestTooLargeException",
    "ResourceConflictException",
    "ResourceNotFoundException",
    "ServiceException",
    "TooManyRequestsException",
]


class LambdaError(ApiError):
    error_kind = "User"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message, Type=self.error_kind, **extra)


class ResourceNotFoundException(LambdaError):
    code = "ResourceNotFoundException"
    status = 404


class InvalidParameterValueException(LambdaError):
    code = "InvalidParameterValueException"
    status = 400


class InvalidRequestContentException(LambdaError):
    code = "InvalidRequestContentException"
    status = 400


class ResourceConflictException(LambdaError):
    code = "ResourceConflictException"
    status = 409


class PreconditionFailedException(LambdaError):
    code = "PreconditionFailedException"
    status = 412


class RequestTooLargeException(LambdaError):
    code = "RequestTooLargeException"
    status = 413


class TooManyRequestsException(LambdaError):
    code = "TooManyRequestsException"
    status = 429

    def __init__(self, reason: str) -> None:
        super().__init__("Rate Exceeded.", Reason=reason, retryAfterSeconds="1")


class ServiceException(LambdaError):
    code = "ServiceException"
    status = 500
    error_kind = "Service"
