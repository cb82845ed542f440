"""ELBv2 API errors, in the query protocol's shape (`<ErrorResponse><Error><Type>Sender</Type><Code/>
<Message/></Error><RequestId/></ErrorResponse>`); codes as the ELBv2 API reference's Errors sections name them,
which botocore maps to `client.exceptions.<Code>Exception`.

    ApiError (control/errors.py)
    +-- ElbError                          400, code per instance
        ValidationError, LoadBalancerNotFound, TargetGroupNotFound, ListenerNotFound, RuleNotFound,
        DuplicateLoadBalancerName, DuplicateTargetGroupName, DuplicateListener, PriorityInUse, InvalidTarget,
        ResourceInUse, IncompatibleProtocols, CertificateNotFound, InvalidConfigurationRequest,
        OperationNotPermitted, UnsupportedProtocol, TooManyTargetGroups

No I/O here.
"""

from __future__ import annotations

from latticework.control.errors import ApiError

__all__ = ["ElbError", "not_found", "validation"]


class ElbError(ApiError):
    status = 400

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def validation(message: str) -> ElbError:
    return ElbError("ValidationError", message)


_NOT_FOUND = {
    "loadbalancer": ("LoadBalancerNotFound", "One or more load balancers not found"),
    "targetgroup": ("TargetGroupNotFound", "One or more target groups not found"),
    "listener": ("ListenerNotFound", "One or more listeners not found"),
    "rule": ("RuleNotFound", "One or more rules not found"),
}


def not_found(what: str, identifier: str | None = None) -> ElbError:
    code, message = _NOT_FOUND[what]
    return ElbError(code, f"{message}: '{identifier}'" if identifier else message)
