"""Orders' pure core: read a VPC Lattice Lambda event (V1, or V2), validate an order, and build the Lambda
response Lattice maps back to HTTP.

Owns: the event fields each version uses, the order's shape (the 2023 orders API's `Order` / `ExistingOrder`:
firstName, lastName, email, items[productId, quantity, price, name, totalCost]) and the error bodies. No I/O, no
clock, no ids: the handler passes them in.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "InvalidOrder",
    "LatticeCall",
    "Order",
    "OrderItem",
    "json_response",
    "order_from_json",
    "read_event",
]


class InvalidOrder(ValueError):
    """The request body is not an order; the message says which field to fix."""


@dataclass(frozen=True, slots=True)
class LatticeCall:
    method: str
    path: str
    body: bytes


@dataclass(frozen=True, slots=True)
class OrderItem:
    product_id: str
    name: str
    quantity: int
    price: int
    total_cost: int

    def to_json(self) -> dict[str, Any]:
        return {
            "productId": self.product_id,
            "name": self.name,
            "quantity": self.quantity,
            "price": self.price,
            "totalCost": self.total_cost,
        }


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    email: str
    first_name: str
    last_name: str
    items: tuple[OrderItem, ...]

    def to_json(self) -> dict[str, Any]:
        # Field names of the 2023 orders API's ExistingOrder (reference retail-store-2023 2.3).
        return {
            "id": self.id,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "items": [item.to_json() for item in self.items],
        }


def read_event(event: dict[str, Any]) -> LatticeCall:
    """The method, path and raw body of a Lattice event. V1 (the default for a target group) uses snake_case
    keys and `raw_path`; V2 has `version: "2.0"`, `path` and camelCase (Lattice UG "Lambda functions as targets")."""
    if event.get("version") == "2.0":
        path, encoded = str(event.get("path", "/")), bool(event.get("isBase64Encoded"))
    else:
        path, encoded = str(event.get("raw_path", "/")), bool(event.get("is_base64_encoded"))
    return LatticeCall(str(event.get("method", "GET")).upper(), path.split("?", 1)[0], _body(event, encoded))


def _body(event: dict[str, Any], encoded: bool) -> bytes:
    raw = event.get("body") or ""
    if not encoded:
        return str(raw).encode()
    try:
        return base64.b64decode(str(raw), validate=True)
    except binascii.Error as error:
        raise InvalidOrder(f"the event body is marked base64 but is not valid base64: {error}") from None


def order_from_json(body: bytes, order_id: str) -> Order:
    """An Order from a POST /orders body, or InvalidOrder naming the field to fix."""
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidOrder(f"the body must be a JSON object: {error}") from None
    if not isinstance(data, dict):
        raise InvalidOrder("the body must be a JSON object with email, firstName, lastName and items")
    email = _text(data, "email", required=True)
    if "@" not in email:
        raise InvalidOrder(f"email must be an email address, got {email!r}")
    items = data.get("items", [])
    items = [] if items is None else items
    if not isinstance(items, list):
        raise InvalidOrder("items must be a list of {productId, name, quantity, price, totalCost}")
    parsed = tuple(_item(item, index) for index, item in enumerate(items))
    return Order(order_id, email, _text(data, "firstName"), _text(data, "lastName"), parsed)


def _item(item: object, index: int) -> OrderItem:
    if not isinstance(item, dict):
        raise InvalidOrder(f"items[{index}] must be an object")
    where = f"items[{index}]."
    quantity, price = _count(item, "quantity", where), _count(item, "price", where)
    total = item.get("totalCost", quantity * price)
    return OrderItem(
        product_id=_text(item, "productId", where=where, required=True),
        name=_text(item, "name", where=where),
        quantity=quantity,
        price=price,
        total_cost=_count({"totalCost": total}, "totalCost", where),
    )


def _text(data: dict[str, Any], key: str, *, where: str = "", required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidOrder(f"{where}{key} must be a non-empty string" if required else f"{where}{key} must be a string")
    return value


def _count(data: dict[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    # bool is an int in Python; JSON true is not a count.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidOrder(f"{where}{key} must be an integer >= 0, got {value!r}")
    return value


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A Lambda response for a LAMBDA target group: isBase64Encoded, statusCode and headers are required
    (Lattice UG "Response from your Lambda function"); statusDescription as the Powertools examples send it."""
    return {
        "isBase64Encoded": False,
        "statusCode": status,
        "statusDescription": f"{status} {_REASONS.get(status, '')}".strip(),
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(payload),
    }


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}
