"""The orders function: handler `app.handler`, the target of the LAMBDA target group `orders-lambda-tg`.

Owns: routing a Lattice event to "place an order" (POST /orders -> 200 with the stored order and a new UUID id)
or "list orders" (GET /orders -> 200 and every order, oldest first), as the 2023 orders API's createOrder and
listOrders. Replaces the blog's mock, which echoed id "abc1234" and stored nothing. Must never hold request state
between invocations: the store is the only truth (another warm worker may take the next call).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from orders_model import InvalidOrder, json_response, order_from_json, read_event
from orders_store import OrderStore, store_from_environment

__all__ = ["handler"]


@functools.cache
def _store() -> OrderStore:
    # Opened on the first invocation, not at import, so a bad DATABASE_URL fails that call with its message
    # rather than the worker's init; kept for the worker's life, like any Lambda's connection reuse.
    return store_from_environment()


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point for V1 (default) and V2 Lattice events."""
    return handle(event, _store())


def handle(event: dict[str, Any], store: OrderStore) -> dict[str, Any]:
    """The handler with its store given, for tests and the local server."""
    try:
        call = read_event(event)
        if call.path.rstrip("/") != "/orders":
            return json_response(404, {"message": f"No route for {call.path}; this function serves /orders"})
        if call.method == "POST":
            order = order_from_json(call.body, str(uuid.uuid4()))
            store.add(order)
            return json_response(200, order.to_json())
        if call.method == "GET":
            return json_response(200, [order.to_json() for order in store.list_orders()])
        return json_response(405, {"message": f"{call.method} is not allowed on /orders"}, {"Allow": "GET, POST"})
    except InvalidOrder as error:
        return json_response(400, {"message": str(error)})
