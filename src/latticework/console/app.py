"""The console and metrics front of the API app (`control/api/app.py`'s ordered list of fronts): claims
`/metrics` and `/console...`, and answers them.

Pages are server-rendered HTML (jinja2, autoescaped) from one `Picture` read through the backend per request;
the static CSS/JS is ours and served from this package (no CDN). Actions are form posts that run one API
operation each (`console.actions`); a post whose Origin is another site is refused, so a page elsewhere cannot
drive a local console (the usual cross-site request forgery check, OWASP "Verifying Origin With Standard
Headers"). `/console/api/status` and `/console/api/requests` are the JSON the live tail and `latticework status`
read. Must never decide anything about traffic, nor write the store except through the backend's operations.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from latticework.console.actions import register_target, set_auth_type, shift_weights
from latticework.console.metrics import CONTENT_TYPE, FunctionStatsSource, TrafficMetrics, exposition
from latticework.console.picture import Picture, read_picture
from latticework.console.tail import RequestTail, matches
from latticework.console.topology import render_svg
from latticework.control.api.restjson import Response
from latticework.control.backend import Backend, Caller
from latticework.control.errors import ApiError, ValidationException

__all__ = ["ConsoleFront"]

_HERE = Path(__file__).parent
_PAGES = {
    "/console": ("overview.html", "Overview"),
    "/console/services": ("services.html", "Services"),
    "/console/target-groups": ("target_groups.html", "Target groups"),
    "/console/auth": ("auth.html", "Auth"),
    "/console/compute": ("compute.html", "Compute"),
    "/console/requests": ("requests.html", "Requests"),
}
_MAX_WEIGHT = 999  # API reference, WeightedTargetGroup: weight 0-999


class ConsoleFront:
    """`/metrics` and `/console*` beside the AWS APIs."""

    max_body = 64 * 1024

    def __init__(
        self,
        backend: Backend,
        state_dir: Path,
        traffic: TrafficMetrics | None = None,
        metrics_directory: Path | None = None,
        functions: FunctionStatsSource | None = None,
        collectors: Iterable[Any] = (),
    ) -> None:
        self.backend = backend
        self.caller = Caller(backend.settings.account, backend.settings.region)
        self.traffic = traffic
        self.metrics_directory = metrics_directory
        self.functions = functions
        self.collectors = tuple(collectors)
        self.tail = RequestTail(state_dir / "logs")
        self.templates = Environment(
            loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True
        )

    def claims(self, path: str, headers: dict[str, str], query: list[tuple[str, str]]) -> bool:
        return path == "/metrics" or path == "/console" or path.startswith("/console/")

    def too_large(self) -> Response:
        return _text(413, "The form is too large.")

    async def handle(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> Response:
        try:
            return self._route(method, path.rstrip("/") or "/", dict(query), headers, body)
        except ApiError as error:
            return _json(error.status, {"__type": error.code, **error.body()})

    def _route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        if method == "POST" and path.startswith("/console/actions/"):
            return self._action(path.removeprefix("/console/actions/"), headers, body)
        if method not in ("GET", "HEAD"):
            return _text(405, f"{method} is not allowed on {path}.")
        if path == "/metrics":
            return self._metrics()
        if path.startswith("/console/static/"):
            return _static(path.removeprefix("/console/static/"))
        return self._get(path, query)

    def _get(self, path: str, query: dict[str, str]) -> Response:
        if path in _PAGES:
            return self._page(path, query)
        if path == "/console/topology.svg":
            return Response(200, [("content-type", "image/svg+xml")], render_svg(self.picture()).encode())
        if path == "/console/api/status":
            return _json(200, _plain(self.picture()))
        if path == "/console/api/requests":
            return _json(200, {"records": self._requests(query)})
        return _text(404, f"No console page at {path}. Start at /console.")

    # -- reading ---------------------------------------------------------------------------------------------

    def picture(self) -> Picture:
        picture = read_picture(self.backend, self.backend.store, self.caller)
        if self.functions is None:
            return picture
        return replace(picture, functions=tuple(self._function_stats(f) for f in picture.functions))

    def _function_stats(self, function: Any) -> Any:
        assert self.functions is not None
        stats = self.functions.stats.get(function.arn)
        warm = self.functions.warm_workers(function.arn)
        if stats is None:
            return replace(function, warm=warm)
        return replace(function, invocations=stats.invocations, errors=stats.errors, throttles=stats.throttles,
                       warm=warm)  # fmt: skip

    def _requests(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        records = [r for r in self.tail.recent() if matches(r, query)]
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else 100
        return records[-limit:]

    def _metrics(self) -> Response:
        extra = self.collectors
        body = exposition(self.traffic, self.metrics_directory, extra)
        return Response(200, [("content-type", CONTENT_TYPE)], body)

    def _page(self, path: str, query: Mapping[str, str]) -> Response:
        template, title = _PAGES[path]
        picture = self.picture()
        html = self.templates.get_template(template).render(
            picture=picture,
            title=title,
            path=path,
            pages=[(p, t) for p, (_, t) in _PAGES.items()],
            topology=render_svg(picture) if path == "/console" else "",
            message=query.get("message", ""),
            error=query.get("error", ""),
            query=query,
        )
        return Response(200, [("content-type", "text/html; charset=utf-8")], html.encode())

    # -- actions ---------------------------------------------------------------------------------------------

    def _action(self, name: str, headers: dict[str, str], body: bytes) -> Response:
        if not _same_origin(headers):
            return _text(403, "Console actions are accepted only from the console's own pages (Origin mismatch).")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        back = form.pop("back", "/console")
        try:
            message = self._run(name, form)
        except ApiError as error:
            return _answer(headers, back, error.status, {"error": error.message})
        return _answer(headers, back, 200, {"message": message})

    def _run(self, name: str, form: dict[str, str]) -> str:
        actions: dict[str, Callable[[dict[str, str]], str]] = {
            "weights": self._weights,
            "register": lambda f: self._target(f, register=True),
            "deregister": lambda f: self._target(f, register=False),
            "auth-type": self._auth_type,
        }
        action = actions.get(name)
        if action is None:
            raise ValidationException(f"No console action '{name}'; known: {', '.join(actions)}.")
        return action(form)

    def _weights(self, form: dict[str, str]) -> str:
        weights = {key.removeprefix("weight:"): _weight(value) for key, value in form.items()
                   if key.startswith("weight:")}  # fmt: skip
        shift_weights(self.backend, self.caller, _need(form, "service"), _need(form, "listener"),
                      _need(form, "rule"), weights)  # fmt: skip
        return "Weights saved: " + ", ".join(f"{group} {weight}" for group, weight in weights.items())

    def _target(self, form: dict[str, str], register: bool) -> str:
        port = form.get("port", "").strip()
        if port and not port.isdigit():
            raise ValidationException.field("port", f"Port must be a number, got '{port}'.")
        group, target = _need(form, "target_group"), _need(form, "target")
        register_target(self.backend, self.caller, group, target, int(port) if port else None, register)
        return f"{'Registered' if register else 'Deregistered'} {target} {'in' if register else 'from'} {group}"

    def _auth_type(self, form: dict[str, str]) -> str:
        auth_type = _need(form, "auth_type")
        if auth_type not in ("NONE", "AWS_IAM"):
            raise ValidationException.field("authType", f"Auth type must be NONE or AWS_IAM, got '{auth_type}'.")
        set_auth_type(self.backend, self.caller, _need(form, "service"), auth_type)
        return f"Auth type of {form['service']} is now {auth_type}"


def _need(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise ValidationException.field(name, f"The form field '{name}' is required.")
    return value


def _weight(value: str) -> int:
    if not value.strip().isdigit() or int(value) > _MAX_WEIGHT:
        raise ValidationException.field("weight", f"A weight is a whole number from 0 to {_MAX_WEIGHT}, got '{value}'.")
    return int(value)


def _same_origin(headers: Mapping[str, str]) -> bool:
    origin = headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == headers.get("host", "")


def _answer(headers: Mapping[str, str], back: str, status: int, result: dict[str, str]) -> Response:
    """JSON for the console's scripts; for a plain form post, back to the page with the outcome in the query."""
    if "application/json" in headers.get("accept", ""):
        return _json(status, result)
    if not back.startswith("/console"):
        back = "/console"
    key, text = next(iter(result.items()))
    separator = "&" if "?" in back else "?"
    return Response(303, [("location", f"{back}{separator}{key}={quote(text)}")], b"")


def _static(name: str) -> Response:
    path = (_HERE / "static" / name).resolve()
    if path.parent != (_HERE / "static").resolve() or not path.is_file():
        return _text(404, f"No static file {name}.")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(200, [("content-type", kind), ("cache-control", "no-cache")], path.read_bytes())


def _plain(picture: Picture) -> dict[str, Any]:
    return asdict(picture)


def _json(status: int, document: Any) -> Response:
    return Response(status, [("content-type", "application/json")], json.dumps(document, default=str).encode())


def _text(status: int, text: str) -> Response:
    return Response(status, [("content-type", "text/plain; charset=utf-8")], text.encode())
