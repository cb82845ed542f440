"""ECS API errors, in ECS's JSON 1.1 shape: HTTP 400 (500 for ServerException) and a body
`{"__type": "ClusterNotFoundException", "message": "..."}` (ECS API reference "Common Errors" and each
operation's Errors section).

    ApiError (control/errors.py)
    +-- EcsError                             400
        +-- ClientException                  the request is wrong for the resource's state or shape
        +-- InvalidParameterException        a parameter is invalid (also the model's validation failures)
        +-- ClusterNotFoundException
        +-- ClusterContainsServicesException
        +-- ClusterContainsTasksException
        +-- ServiceNotFoundException
        +-- ServiceNotActiveException
        +-- UnsupportedFeatureException
        +-- ServerException                  500

No I/O here.
"""

from __future__ import annotations

from latticework.control.errors import ApiError

__all__ = [
    "ClientException",
    "ClusterContainsServicesException",
    "ClusterContainsTasksException",
    "ClusterNotFoundException",
    "EcsError",
    "InvalidParameterException",
    "ServerException",
    "ServiceNotActiveException",
    "ServiceNotFoundException",
    "UnsupportedFeatureException",
]


class EcsError(ApiError):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = type(self).__name__


class ClientException(EcsError):
    pass


class InvalidParameterException(EcsError):
    pass


class ClusterNotFoundException(EcsError):
    def __init__(self, message: str = "Cluster not found.") -> None:
        super().__init__(message)


class ClusterContainsServicesException(EcsError):
    pass


class ClusterContainsTasksException(EcsError):
    pass


class ServiceNotFoundException(EcsError):
    def __init__(self, message: str = "Service not found.") -> None:
        super().__init__(message)


class ServiceNotActiveException(EcsError):
    def __init__(self, message: str = "Service was not ACTIVE.") -> None:
        super().__init__(message)


class UnsupportedFeatureException(EcsError):
    pass


class ServerException(EcsError):
    status = 500
