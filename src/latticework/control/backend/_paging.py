"""`maxResults` / `nextToken` pagination over store records, with tokens that cannot be forged or replayed
against another listing.

A token is `base64(json([after_seq, scope]))` + `.` + an HMAC over it with the store's secret; `scope` is a
digest of the operation, the caller and the list's filters. Keyset paging on the creation sequence keeps pages
stable while resources come and go. Pure apart from the reads it asks the transaction for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from latticework.control.backend._context import Ctx
from latticework.control.errors import ValidationException
from latticework.control.store import Record

__all__ = ["DEFAULT_PAGE_SIZE", "BadToken", "issue_token", "list_scope", "page", "page_by_position", "read_token"]

DEFAULT_PAGE_SIZE = 100
_BATCH = 200


def page(
    ctx: Ctx,
    operation: str,
    params: dict[str, Any],
    kind: str,
    item: Callable[[Record], dict[str, Any]],
    *,
    keep: Callable[[Record], bool] = lambda _: True,
    items_key: str = "items",
    **columns: Any,
) -> dict[str, Any]:
    """One page of `item(record)` for records of `kind` matching `columns` and `keep`."""
    limit = params.get("maxResults") or DEFAULT_PAGE_SIZE
    scope = _scope(ctx, operation, params)
    after = _decode(ctx.secret, params.get("nextToken"), scope)
    found: list[Record] = []
    more = False
    while True:
        # Read no more than the page needs: one record past it says whether there is a next page.
        want = min(_BATCH, limit + 1 - len(found))
        batch = ctx.find(kind, after=after, limit=want, **columns)
        for record in batch:
            if not keep(record):
                continue
            if len(found) == limit:
                more = True
                break
            found.append(record)
        if more or len(batch) < want:
            break
        after = batch[-1].seq
    result: dict[str, Any] = {items_key: [item(r) for r in found]}
    if more:
        result["nextToken"] = issue_token(ctx.secret, found[-1].seq, scope)
    return result


def page_by_position(
    ctx: Ctx,
    operation: str,
    params: dict[str, Any],
    records: list[Record],
    position: Callable[[Record], int],
    item: Callable[[Record], dict[str, Any]],
) -> dict[str, Any]:
    """Like page(), but in the order of a unique positive integer `position` (rule priority) rather than creation
    order; the signed token carries the last position shown."""
    limit = params.get("maxResults") or DEFAULT_PAGE_SIZE
    scope = _scope(ctx, operation, params)
    after = _decode(ctx.secret, params.get("nextToken"), scope)
    remaining = sorted((r for r in records if position(r) > after), key=position)
    result: dict[str, Any] = {"items": [item(r) for r in remaining[:limit]]}
    if len(remaining) > limit:
        result["nextToken"] = issue_token(ctx.secret, position(remaining[limit - 1]), scope)
    return result


def _scope(ctx: Ctx, operation: str, params: dict[str, Any]) -> str:
    return list_scope(ctx, operation, {k: v for k, v in params.items() if k not in ("maxResults", "nextToken")})


def list_scope(ctx: Ctx, operation: str, filters: Any) -> str:
    """What a token is bound to: the operation, the caller, and the listing's filters."""
    text = json.dumps([operation, ctx.caller.account, ctx.caller.region, filters], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class BadToken(Exception):
    """A token this server did not issue (`foreign` False), or issued for another listing (`foreign` True)."""

    def __init__(self, foreign: bool) -> None:
        super().__init__("foreign" if foreign else "forged")
        self.foreign = foreign


def issue_token(secret: bytes, position: int, scope: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps([position, scope]).encode()).decode().rstrip("=")
    return f"{payload}.{_sign(secret, payload)}"


def read_token(secret: bytes, token: str, scope: str) -> int:
    """The position a token carries; raises BadToken."""
    payload, _, signature = token.partition(".")
    if not hmac.compare_digest(signature.encode(), _sign(secret, payload).encode()):
        raise BadToken(foreign=False)
    position, token_scope = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if token_scope != scope:
        raise BadToken(foreign=True)
    return int(position)


def _decode(secret: bytes, token: str | None, scope: str) -> int:
    if token is None:
        return 0
    try:
        return read_token(secret, token, scope)
    except BadToken as bad:
        message = (
            "The nextToken belongs to another listing: repeat the request with the same parameters."
            if bad.foreign
            else "The nextToken is not valid: it was not issued by this server."
        )
        raise ValidationException.field("nextToken", message) from None


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:32]
