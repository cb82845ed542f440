"""The storefront's catalog: 0.4.0's MockCatalogService, which the blog deployment ran - 20 products "product1"
to "product20" at $123, one tag "Smart", paging by slice.

Owns: the products, their order and paging. Pure data; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PRODUCTS", "TAGS", "CatalogPage", "Product", "Tag", "find_product", "page_of"]


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    display_name: str


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    description: str
    price: int
    image_url: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class CatalogPage:
    products: tuple[Product, ...]
    page: int
    size: int
    total: int

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))


def _product(number: int) -> Product:
    return Product(
        id=str(number),
        name=f"product{number}",
        description=f"product description {number}",
        price=123,
        image_url=f"/assets/img/product{number}.svg",
    )


# The seed's products sat in a Java HashMap keyed "1".."20"; its iteration order (verified in the reference,
# retail-store-2023 2.1) is what the home page and catalog show, so home's "Hot products!" are product11-14.
_SEED_ORDER = (11, 12, 13, 14, 15, 16, 17, 18, 19, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 10)
PRODUCTS: tuple[Product, ...] = tuple(_product(number) for number in _SEED_ORDER)
TAGS: tuple[Tag, ...] = (Tag("smart", "Smart"),)
_BY_ID = {product.id: product for product in PRODUCTS}


def find_product(product_id: str) -> Product | None:
    return _BY_ID.get(product_id)


def page_of(page: int, size: int) -> CatalogPage:
    """Products [(page-1)*size, page*size) of the seed order; the mock ignores tag and order, and so do we."""
    start = (page - 1) * size
    return CatalogPage(PRODUCTS[start : start + size], page, size, len(PRODUCTS))
