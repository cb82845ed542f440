"""API errors of the control plane, each carrying its AWS error type and HTTP status.

    ApiError                      (type, status, message, extra body members)
    +-- ValidationException       400  reason + fieldList
    +-- AccessDeniedException     403
    +-- ResourceNotFoundException 404  resourceId + resourceType
    +-- ConflictException         409  resourceId + resourceType
    +-- ServiceQuotaExceededException 402 (sic, as botocore's model says) serviceCode + quotaCode
    +-- ThrottlingException       429
    +-- InternalServerException   500
    +-- Ec2Error                  400  EC2 query-protocol errors (code such as InvalidVpcID.NotFound)

No I/O here: the protocol layer turns these into wire responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AccessDeniedException",
    "ApiError",
    "ConflictException",
    "Ec2Error",
    "FieldError",
    "InternalServerException",
    "ResourceNotFoundException",
    "ServiceQuotaExceededException",
    "ThrottlingException",
    "ValidationException",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One offending input member: its dotted path and what is wrong with it."""

    name: str
    message: str


class ApiError(Exception):
    """An error that reaches the client in AWS's shape."""

    code = "InternalServerException"
    status = 500

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}


class ValidationException(ApiError):
    code = "ValidationException"
    status = 400

    def __init__(
        self,
        message: str,
        reason: str = "fieldValidationFailed",
        fields: Sequence[FieldError] = (),
    ) -> None:
        extra: dict[str, Any] = {"reason": reason}
        if fields:
            extra["fieldList"] = [{"name": f.name, "message": f.message} for f in fields]
        super().__init__(message, **extra)

    @classmethod
    def from_fields(cls, fields: Sequence[FieldError]) -> ValidationException:
        n = len(fields)
        noun = "error" if n == 1 else "errors"
        detail = "; ".join(f.message for f in fields)
        return cls(f"{n} validation {noun} detected: {detail}", fields=fields)

    @classmethod
    def field(cls, name: str, message: str) -> ValidationException:
        return cls(message, fields=[FieldError(name, message)])


class AccessDeniedException(ApiError):
    code = "AccessDeniedException"
    status = 403


class ResourceNotFoundException(ApiError):
    code = "ResourceNotFoundException"
    status = 404

    def __init__(self, resource_type: str, resource_id: str, message: str | None = None) -> None:
        super().__init__(
            message or f"{_label(resource_type)} '{resource_id}' was not found. Check the identifier.",
            resourceId=resource_id,
            resourceType=resource_type,
        )


class ConflictException(ApiError):
    code = "ConflictException"
    status = 409

    def __init__(self, message: str, resource_type: str, resource_id: str) -> None:
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class ServiceQuotaExceededException(ApiError):
    code = "ServiceQuotaExceededException"
    status = 402

    def __init__(self, message: str, resource_type: str, quota_code: str, resource_id: str | None = None) -> None:
        super().__init__(
            message,
            resourceType=resource_type,
            resourceId=resource_id,
            serviceCode="vpc-lattice",
            quotaCode=quota_code,
        )


class ThrottlingException(ApiError):
    code = "ThrottlingException"
    status = 429


class InternalServerException(ApiError):
    code = "InternalServerException"
    status = 500


class Ec2Error(ApiError):
    """An EC2 query-protocol error; `code` is per instance (e.g. InvalidVpcID.NotFound)."""

    status = 400

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _label(resource_type: str) -> str:
    return resource_type.replace("_", " ").capitalize()
