"""Products as the guide's API shows them: the row shape, and the JSON bytes the cache keeps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from cloudmall.domain.products import Category, Product
from cloudmall.services.media_links import MediaLinks


def _timestamp(moment: datetime) -> str:
    """UTC in the form every answer uses (as pydantic writes it): `2026-11-27T05:15:13.368369Z`."""
    return moment.isoformat().replace("+00:00", "Z")


def product_row(product: Product, links: MediaLinks) -> dict[str, Any]:
    """A product as the guide's API shows it: the schema's column names, plus a few more."""
    return {
        "id": product.id,
        "name": product.name,
        "price": str(product.price),
        "description": product.description,
        "image_url": links.image_url(product.image_key),
        "thumbnail_url": links.thumbnail_url(product.image_key),
        "stock_quantity": product.stock_quantity,
        "category": product.category,
        "created_at": _timestamp(product.created_at),
        "updated_at": _timestamp(product.updated_at),
        "name_en": product.name_en,
        "description_en": product.description_en,
        "list_price": None if product.list_price is None else str(product.list_price),
        "category_name": product.category_name,
        "category_name_en": product.category_name_en,
    }


def category_row(category: Category) -> dict[str, Any]:
    return {
        "id": category.id,
        "slug": category.slug,
        "name": category.name,
        "name_en": category.name_en,
        "products": category.products,
    }


class JsonCatalogPresenter:
    """The catalogue's answers as JSON bytes (orjson), for the cache to keep ready."""

    def __init__(self, links: MediaLinks) -> None:
        self.links = links

    def row(self, product: Product) -> dict[str, Any]:
        return product_row(product, self.links)

    def products(self, products: Sequence[Product]) -> bytes:
        return orjson.dumps([product_row(product, self.links) for product in products])

    def product(self, product: Product) -> bytes:
        return orjson.dumps(product_row(product, self.links))

    def categories(self, categories: Sequence[Category]) -> bytes:
        return orjson.dumps([category_row(category) for category in categories])
