"""Small pure helpers on the relay's hot path: request IDs, request-target forms, reason phrases, bounded memos.

Kept apart from `relay` so they can be tested and timed without an event loop. No I/O, no clock reads, no
asyncio (request IDs are seeded from `os.urandom` once per process, which is not a clock).
"""

from __future__ import annotations

import os
import random
from functools import lru_cache
from http import HTTPStatus
from typing import TypeVar
from urllib.parse import urlsplit

__all__ = ["host_and_port", "is_absolute", "new_request_id", "origin_form", "reason_phrase", "remember"]

_K = TypeVar("_K")
_V = TypeVar("_V")

# Request IDs come from a Mersenne Twister seeded once per process from os.urandom (re-seeded in a forked
# child, so workers never share a sequence): a getrandom() syscall per request cost more than the rest of the
# ID. Unique, not secret: nothing authenticates with an x-amzn-requestid.
_ids = random.Random(os.urandom(32))
_random_bits = _ids.getrandbits
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))
# RFC 9562 5.4: version 4 in the 4 bits from bit 76 (the 13th hex digit), variant 10 in bits 63 and 62.
_UUID_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID_SET = (0x4 << 76) | (0x2 << 62)


def new_request_id() -> str:
    """A random (version 4) UUID in its 36-character text form, as Lattice's x-amzn-requestid; no syscall and no
    object per request (measured 0.7 us; str(uuid.uuid4()) 2.5 us, os.urandom's hex 1.7 us)."""
    h = (_random_bits(128) & _UUID_CLEAR | _UUID_SET).to_bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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


def remember(memo: dict[_K, _V], key: _K, value: _V, limit: int) -> _V:
    """`memo[key] = value`, returned; a memo holding `limit` entries starts over first (a bound on memory, and
    on what odd traffic costs). The relay's memos of pure results (heads, lines, routes) all keep this way."""
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value
