"""The catalogue: products with price, stock and an image."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


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
