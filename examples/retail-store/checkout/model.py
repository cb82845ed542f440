"""Checkout's pure core: validate a CheckoutRequest and price it, exactly as retail-store-sample-app 0.4.0's
checkout service did (reference retail-store-2023 2.2).

Owns: the class-validator rules and messages (`items.0.quantity must not be less than 0`), the two shipping
rates, and the 0.4.0 arithmetic: tax = floor(subtotal x 0.05) once a shipping address is set, else -1; shipping
= the chosen rate's amount, else -1; total = subtotal + max(tax, 0) - shipping is NOT added in 0.4.0. No I/O, no
randomness: the caller passes the generated ids in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ShippingRate",
    "build_checkout",
    "order_request",
    "shipping_rates",
    "tax_for",
    "total_for",
    "validate_request",
]

# class-validator's IsEmail (validator.js isEmail) in its common form: local@domain.tld, no spaces.
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]{2,}$")
_ITEM_TEXT = ("id", "name", "imageUrl")
_ITEM_COUNTS = ("quantity", "unitCost", "totalCost")
_ADDRESS_TEXT = ("firstName", "lastName", "address1", "city", "state", "zip")


@dataclass(frozen=True, slots=True)
class ShippingRate:
    name: str
    amount: int
    token: str
    estimated_days: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "amount": self.amount, "token": self.token, "estimatedDays": self.estimated_days}


def shipping_rates(name_prefix: str = "") -> tuple[ShippingRate, ...]:
    """0.4.0's MockShippingService: two USPS-style rates; SHIPPING_NAME_PREFIX goes before each name."""
    return (
        ShippingRate(f"{name_prefix}Priority Mail", 5, "priority-mail", 10),
        ShippingRate(f"{name_prefix}Priority Mail Express", 15, "priority-mail-express", 5),
    )


def validate_request(body: object) -> list[str]:
    """Every class-validator message for a CheckoutRequest, in field order; empty when valid."""
    if not isinstance(body, dict):
        return ["the request body must be a JSON object (a CheckoutRequest)"]
    errors: list[str] = []
    email = body.get("customerEmail")
    if email is not None and not (isinstance(email, str) and _EMAIL.match(email)):
        errors.append("customerEmail must be an email")
    errors += _nested_list(body, "items")
    errors += _nested_address(body.get("shippingAddress"))
    errors += _count_errors(body.get("subtotal"), "subtotal")
    token = body.get("deliveryOptionToken")
    if token is not None and not isinstance(token, str):
        errors.append("deliveryOptionToken must be a string")
    return errors


def _nested_list(body: dict[str, Any], key: str) -> list[str]:
    # Items carry @ValidateNested only (no @IsDefined, no @IsArray): a missing list passes.
    items = body.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        return [f"nested property {key} must be either object or array"]
    errors: list[str] = []
    for index, item in enumerate(items):
        errors += _item_errors(item, f"{key}.{index}.")
    return errors


def _item_errors(item: object, where: str) -> list[str]:
    if not isinstance(item, dict):
        return [f"each value in nested property {where.split('.')[0]} must be either object or array"]
    errors = [f"{where}{key} must be a string" for key in _ITEM_TEXT if not isinstance(item.get(key), str)]
    for key in _ITEM_COUNTS:
        errors += _count_errors(item.get(key), f"{where}{key}")
    return errors


def _nested_address(address: object) -> list[str]:
    if address is None:
        return []
    if not isinstance(address, dict):
        return ["nested property shippingAddress must be either object or array"]
    where = "shippingAddress."
    errors = [f"{where}{key} must be a string" for key in _ADDRESS_TEXT if not isinstance(address.get(key), str)]
    optional = address.get("address2")
    if optional is not None and not isinstance(optional, str):
        errors.append(f"{where}address2 must be a string")
    return errors


def _count_errors(value: object, name: str) -> list[str]:
    """@IsInt() @Min(0): both fire on a non-number (Min needs a number too); bool is not a number in JS."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    errors = [] if is_number and value >= 0 else [f"{name} must not be less than 0"]  # type: ignore[operator]
    if not (is_number and float(value).is_integer()):  # type: ignore[arg-type]
        errors.append(f"{name} must be an integer number")
    return errors


def tax_for(request: dict[str, Any]) -> int:
    """floor(subtotal x 0.05) in IEEE doubles, as JavaScript computes it, once a shipping address is set."""
    if not request.get("shippingAddress"):
        return -1
    return math.floor(float(request["subtotal"]) * 0.05)


def shipping_for(request: dict[str, Any], rates: tuple[ShippingRate, ...]) -> int:
    token = request.get("deliveryOptionToken")
    return next((rate.amount for rate in rates if rate.token == token), -1)


def total_for(subtotal: int, tax: int) -> int:
    # 0.4.0: shipping is shown but not part of the total (v1.0.0 changed this; reference 5).
    return subtotal + max(tax, 0)


def build_checkout(
    request: dict[str, Any],
    rates: tuple[ShippingRate, ...],
    *,
    shipment_id: str,
    payment_id: str,
    payment_token: str,
) -> dict[str, Any]:
    """The stored and returned Checkout, keys in the order 0.4.0's update wrote them."""
    tax = tax_for(request)
    subtotal = int(request["subtotal"])
    return {
        "shippingRates": {"shipmentId": shipment_id, "rates": [rate.to_json() for rate in rates]},
        "request": request,
        "paymentId": payment_id,
        "paymentToken": payment_token,
        "shipping": shipping_for(request, rates),
        "tax": tax,
        "total": total_for(subtotal, tax),
    }


def order_request(checkout: dict[str, Any]) -> dict[str, Any]:
    """The body checkout POSTs to {ENDPOINTS_ORDERS}/orders: the generated client renames unitCost -> price and
    id -> productId and drops imageUrl (reference 1.7). Deviation: 0.4.0 hard-coded firstName "John" and lastName
    "Doe"; since orders are now stored, the names come from the shipping address when there is one."""
    request = checkout["request"]
    address = request.get("shippingAddress") or {}
    return {
        "email": request.get("customerEmail"),
        "firstName": address.get("firstName", "John"),
        "lastName": address.get("lastName", "Doe"),
        "items": [_order_item(item) for item in request.get("items") or []],
    }


def _order_item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "price": item["unitCost"],
        "productId": item["id"],
        "name": item["name"],
        "totalCost": item["totalCost"],
        "quantity": item["quantity"],
    }
