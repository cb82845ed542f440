"""The storefront's carts (0.4.0 kept them in the UI process too, in MockCartsService): one per SESSIONID.

Owns: the cart arithmetic (line total = quantity x price, subtotal, the badge's item count) as pure functions
over frozen values, and the store they live in. Unlike 0.4.0's mock, removing an item never fails (its
for-each-and-remove threw ConcurrentModificationException, a 500 page; reference retail-store-2023 2.1).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

from storefront.catalog import Product

__all__ = ["Cart", "CartItem", "CartStore", "MemoryCartStore", "add_item", "remove_item", "set_quantity"]

MAX_QUANTITY = 99  # a sanity bound for the quantity box; the seed had no update at all


@dataclass(frozen=True, slots=True)
class CartItem:
    product_id: str
    name: str
    price: int
    image_url: str
    quantity: int

    @property
    def total_price(self) -> int:
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class Cart:
    items: tuple[CartItem, ...] = ()

    @property
    def subtotal(self) -> int:
        return sum(item.total_price for item in self.items)

    @property
    def num_items(self) -> int:
        return sum(item.quantity for item in self.items)


def add_item(cart: Cart, product: Product, quantity: int = 1) -> Cart:
    """One more of `product`: a new line at the end, or the existing line's quantity + 1."""
    for item in cart.items:
        if item.product_id == product.id:
            return set_quantity(cart, product.id, item.quantity + quantity)
    line = CartItem(product.id, product.name, product.price, product.image_url, min(quantity, MAX_QUANTITY))
    return Cart((*cart.items, line))


def set_quantity(cart: Cart, product_id: str, quantity: int) -> Cart:
    """The line's new quantity (clamped to MAX_QUANTITY); 0 or less removes it; an absent line is a no-op."""
    if quantity <= 0:
        return remove_item(cart, product_id)
    clamped = min(quantity, MAX_QUANTITY)
    return Cart(tuple(replace(i, quantity=clamped) if i.product_id == product_id else i for i in cart.items))


def remove_item(cart: Cart, product_id: str) -> Cart:
    return Cart(tuple(item for item in cart.items if item.product_id != product_id))


class CartStore(ABC):
    @abstractmethod
    def get(self, session_id: str) -> Cart: ...

    @abstractmethod
    def put(self, session_id: str, cart: Cart) -> None: ...

    def delete(self, session_id: str) -> None:
        self.put(session_id, Cart())


class MemoryCartStore(CartStore):
    """In the storefront's memory, as the blog deployment ran it; lost on restart."""

    def __init__(self) -> None:
        self._carts: dict[str, Cart] = {}

    def get(self, session_id: str) -> Cart:
        return self._carts.get(session_id, Cart())

    def put(self, session_id: str, cart: Cart) -> None:
        if cart.items:
            self._carts[session_id] = cart
        else:
            self._carts.pop(session_id, None)
