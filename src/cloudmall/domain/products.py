"""The catalogue: products with price, stock and an image."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# At or below this many units left, shoppers see the exact count; above it, a count a few minutes
# old says the same thing ("in stock").
LOW_STOCK = 10


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

    @property
    def in_stock(self) -> bool:
        return self.stock_quantity > 0
