"""The AWS service models we serve, loaded from botocore at run time, and the REST route table built from them.

Owns: which operation a (method, path) names, and the path parameters it carries. Never hand-copies a shape:
everything comes from botocore's JSON model, so a newer botocore brings its new members with it.
No I/O beyond botocore's own model loading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote

import botocore.session
from botocore.model import OperationModel, ServiceModel

__all__ = ["Route", "RouteMatch", "RouteTable", "service_model"]

_LABEL = re.compile(r"\{([^}]+)\}")


@cache
def service_model(name: str) -> ServiceModel:
    """The botocore model of an AWS service (cached; loading one takes tens of milliseconds)."""
    return botocore.session.get_session().get_service_model(name)


@dataclass(frozen=True, slots=True)
class Route:
    """One REST operation: its method, its URI template compiled to a matcher over raw path segments."""

    operation: OperationModel
    method: str
    segments: tuple[str, ...]
    query_literals: tuple[tuple[str, str], ...]

    def match(self, method: str, parts: list[str]) -> dict[str, str] | None:
        if method != self.method or len(parts) != len(self.segments):
            return None
        labels: dict[str, str] = {}
        for template, raw in zip(self.segments, parts, strict=True):
            label = _LABEL.fullmatch(template)
            if label:
                if not raw:
                    return None
                labels[label.group(1).rstrip("+")] = unquote(raw)
            elif template != raw:
                return None
        return labels


@dataclass(frozen=True, slots=True)
class RouteMatch:
    operation: OperationModel
    labels: dict[str, str]


class RouteTable:
    """Finds the operation for a request on a rest-json service (match, then handle)."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        routes = [_compile(model.operation_model(name)) for name in model.operation_names]
        # Literal segments win over labels, as API Gateway's router does.
        routes.sort(key=lambda r: sum(1 for s in r.segments if not _LABEL.fullmatch(s)), reverse=True)
        self.routes = tuple(routes)
        self.methods_by_shape = {r.segments: r.method for r in routes}

    def find(self, method: str, raw_path: str) -> RouteMatch | None:
        parts = _split(raw_path)
        for route in self.routes:
            labels = route.match(method, parts)
            if labels is not None:
                return RouteMatch(route.operation, labels)
        return None

    def path_exists(self, raw_path: str) -> bool:
        parts = _split(raw_path)
        return any(r.match(r.method, parts) is not None for r in self.routes)


def _split(raw_path: str) -> list[str]:
    return raw_path.strip("/").split("/") if raw_path.strip("/") else []


def _compile(operation: OperationModel) -> Route:
    uri = operation.http["requestUri"]
    path, _, query = uri.partition("?")
    literals = tuple((k, v) for k, _, v in (item.partition("=") for item in query.split("&") if item))
    return Route(operation, operation.http["method"], tuple(_split(path)), literals)
