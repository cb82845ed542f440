"""The checkout API's pure core: the 0.4.0 arithmetic (reference retail-store-2023 2.2) and class-validator rules."""

from __future__ import annotations

import math
from typing import Any

import pytest
from checkout.model import build_checkout, order_request, shipping_rates, tax_for, total_for, validate_request
from hypothesis import given
from hypothesis import strategies as st

ADDRESS = {
    "firstName": "John",
    "lastName": "Doe",
    "address1": "999 Main St.",
    "address2": "#123",
    "city": "Sometown",
    "state": "AB",
    "zip": "12345",
}
ITEM = {"id": "11", "name": "product11", "quantity": 1, "unitCost": 123, "totalCost": 123, "imageUrl": "/a.svg"}
IDS = {"shipment_id": "s" * 32, "payment_id": "p" * 16, "payment_token": "t" * 32}


def priced(request: dict[str, Any]) -> dict[str, Any]:
    return build_checkout(request, shipping_rates(), **IDS)


@pytest.mark.parametrize(
    ("request_body", "tax", "shipping", "total"),
    [
        # The reference's worked example, step by step.
        ({"subtotal": 123, "items": [ITEM]}, -1, -1, 123),
        ({"subtotal": 123, "items": [ITEM], "shippingAddress": ADDRESS}, 6, -1, 129),
        ({"subtotal": 123, "shippingAddress": ADDRESS, "deliveryOptionToken": "priority-mail"}, 6, 5, 129),
        ({"subtotal": 123, "shippingAddress": ADDRESS, "deliveryOptionToken": "priority-mail-express"}, 6, 15, 129),
        # The e2e spec's body: subtotal 492 -> tax floor(24.6) = 24.
        ({"subtotal": 492, "shippingAddress": ADDRESS}, 24, -1, 516),
        ({"subtotal": 0, "shippingAddress": ADDRESS}, 0, -1, 0),
        ({"subtotal": 19, "shippingAddress": ADDRESS}, 0, -1, 19),
        ({"subtotal": 20, "shippingAddress": ADDRESS}, 1, -1, 21),
        ({"subtotal": 246, "shippingAddress": ADDRESS}, 12, -1, 258),
        # An unknown token is no delivery choice; shipping stays -1.
        ({"subtotal": 100, "shippingAddress": ADDRESS, "deliveryOptionToken": "pigeon"}, 5, -1, 105),
        # A token without an address: shipping known, tax still -1, total = subtotal.
        ({"subtotal": 100, "deliveryOptionToken": "priority-mail"}, -1, 5, 100),
        # JavaScript truthiness: a null address is no address.
        ({"subtotal": 100, "shippingAddress": None}, -1, -1, 100),
    ],
)
def test_tax_shipping_and_total_follow_0_4_0(request_body: dict[str, Any], tax: int, shipping: int, total: int) -> None:
    checkout = priced(request_body)
    assert (checkout["tax"], checkout["shipping"], checkout["total"]) == (tax, shipping, total)


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["priority-mail", "priority-mail-express", None]))
def test_total_is_subtotal_plus_tax_and_never_shipping(subtotal: int, token: str | None) -> None:
    """0.4.0 shows shipping but leaves it out of the total (v1.0.0 added it; not the contract)."""
    checkout = priced({"subtotal": subtotal, "shippingAddress": ADDRESS, "deliveryOptionToken": token})
    assert checkout["tax"] == math.floor(subtotal * 0.05)
    assert checkout["total"] == subtotal + checkout["tax"]
    assert 0 <= checkout["tax"] <= subtotal


def test_tax_is_computed_in_doubles_as_javascript_does() -> None:
    """Math.floor(subtotal * 0.05) in IEEE doubles: 60 * 0.05 is 3.0000000000000004, still 3."""
    assert tax_for({"subtotal": 60, "shippingAddress": ADDRESS}) == 3
    assert total_for(60, -1) == 60


def test_checkout_keys_come_in_0_4_0_order_with_the_request_echoed() -> None:
    request = {"subtotal": 123, "items": [ITEM], "customerEmail": "a@example.com", "extra": True}
    checkout = priced(request)
    assert list(checkout) == ["shippingRates", "request", "paymentId", "paymentToken", "shipping", "tax", "total"]
    assert checkout["request"] == request
    assert checkout["shippingRates"] == {
        "shipmentId": IDS["shipment_id"],
        "rates": [
            {"name": "Priority Mail", "amount": 5, "token": "priority-mail", "estimatedDays": 10},
            {"name": "Priority Mail Express", "amount": 15, "token": "priority-mail-express", "estimatedDays": 5},
        ],
    }


def test_shipping_name_prefix_goes_before_each_rate_name() -> None:
    assert [rate.name for rate in shipping_rates("ACME ")] == ["ACME Priority Mail", "ACME Priority Mail Express"]


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({"subtotal": 0}, []),
        ({"subtotal": 5, "items": [ITEM], "shippingAddress": ADDRESS, "customerEmail": "a@b.co"}, []),
        ({"subtotal": 5, "shippingAddress": {**ADDRESS, "address2": None}}, []),
        ({"subtotal": 5.0}, []),
        ({}, ["subtotal must not be less than 0", "subtotal must be an integer number"]),
        ({"subtotal": -1}, ["subtotal must not be less than 0"]),
        ({"subtotal": 1.5}, ["subtotal must be an integer number"]),
        ({"subtotal": "5"}, ["subtotal must not be less than 0", "subtotal must be an integer number"]),
        ({"subtotal": True}, ["subtotal must not be less than 0", "subtotal must be an integer number"]),
        ({"subtotal": 1, "customerEmail": "not-an-email"}, ["customerEmail must be an email"]),
        ({"subtotal": 1, "customerEmail": 7}, ["customerEmail must be an email"]),
        ({"subtotal": 1, "deliveryOptionToken": 5}, ["deliveryOptionToken must be a string"]),
        ({"subtotal": 1, "items": "x"}, ["nested property items must be either object or array"]),
        ({"subtotal": 1, "items": [3]}, ["each value in nested property items must be either object or array"]),
        ({"subtotal": 1, "items": [{**ITEM, "quantity": -2}]}, ["items.0.quantity must not be less than 0"]),
        (
            {"subtotal": 1, "items": [ITEM, {**ITEM, "name": 1, "unitCost": 0.5}]},
            ["items.1.name must be a string", "items.1.unitCost must be an integer number"],
        ),
        ({"subtotal": 1, "shippingAddress": {**ADDRESS, "zip": 12345}}, ["shippingAddress.zip must be a string"]),
        (
            {"subtotal": 1, "shippingAddress": "home"},
            ["nested property shippingAddress must be either object or array"],
        ),
        ([1, 2], ["the request body must be a JSON object (a CheckoutRequest)"]),
    ],
)
def test_validation_messages_name_each_field(body: object, messages: list[str]) -> None:
    assert validate_request(body) == messages


def test_order_request_renames_item_fields_and_drops_the_image() -> None:
    checkout = priced({"subtotal": 123, "items": [ITEM], "customerEmail": "j@example.com", "shippingAddress": ADDRESS})
    assert order_request(checkout) == {
        "email": "j@example.com",
        "firstName": "John",
        "lastName": "Doe",
        "items": [{"price": 123, "productId": "11", "name": "product11", "totalCost": 123, "quantity": 1}],
    }


def test_order_request_takes_the_names_from_the_address() -> None:
    address = {**ADDRESS, "firstName": "Ada", "lastName": "Lovelace"}
    body = order_request(priced({"subtotal": 1, "shippingAddress": address, "customerEmail": "ada@example.com"}))
    assert (body["firstName"], body["lastName"]) == ("Ada", "Lovelace")
