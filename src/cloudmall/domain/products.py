"""The catalogue: products with price, stock and an image, in categories the staff name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# At or below this many units left, shoppers see the exact count; above it, a count a few minutes
# old says the same thing ("in stock").
LOW_STOCK = 10


@dataclass(frozen=True, slots=True)
class Category:
    """A category the staff manage: its slug (what a product refers to) and its two names."""

    id: int
    slug: str
    name: str  # Korean
    name_en: str
    products: int = 0  # products on sale in it


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    name: str
    price: Decimal
    description: str
    category: str
    stock_quantity: int
    image_key: str | None
    created_at: datetime
    updated_at: datetime
    name_en: str | None = None
    description_en: str | None = None
    # The price before a sale; set (and above `price`) only while the product is on sale.
    list_price: Decimal | None = None
    category_name: str | None = None  # the category's names, None if it has none (yet)
    category_name_en: str | None = None

    @property
    def on_sale(self) -> bool:
        return self.list_price is not None and self.list_price > self.price

    @property
    def in_stock(self) -> bool:
        return self.stock_quantity > 0
