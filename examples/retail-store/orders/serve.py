"""Run the orders function alone over HTTP, without Latticework: each request becomes a V1 Lattice event and
the handler's response becomes the HTTP response, as a LAMBDA target group would do it.

    PORT=8083 python orders/serve.py

Owns: that adapter (also used by tests to wire checkout to orders in-process). Must never be what the demo
deploys: there, Latticework's own function runtime invokes `app.handler`.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))

import app as orders_app

__all__ = ["create_app", "v1_event"]

Handler = Callable[[dict[str, Any], object], dict[str, Any]]
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def v1_event(method: str, path: str, headers: dict[str, str], query: dict[str, str], body: bytes) -> dict[str, Any]:
    """A V1 event. Lattice UG: bodies of text/*, JSON, XML and JavaScript without content-encoding go as they
    are; anything else is base64."""
    content_type = headers.get("content-type", "")
    raw = not body or (content_type.startswith(_TEXT_TYPES) and "content-encoding" not in headers)
    return {
        "raw_path": path,
        "method": method,
        "headers": headers,
        "query_string_parameters": query,
        "body": body.decode() if raw else base64.b64encode(body).decode(),
        "is_base64_encoded": not raw,
    }


def create_app(handler: Handler = orders_app.handler) -> Starlette:
    async def invoke(request: Request) -> Response:
        headers = dict(request.headers)  # starlette joins repeated headers; V1 joins them with ", " too
        event = v1_event(request.method, request.url.path, headers, dict(request.query_params), await request.body())
        # The handler does blocking database work; keep it off the event loop as Lambda keeps it off Lattice's.
        result = await run_in_threadpool(handler, event, None)
        body = result.get("body") or ""
        content = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return Response(content, status_code=int(result["statusCode"]), headers=result.get("headers") or {})

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", invoke, methods=methods)])


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8083")))
