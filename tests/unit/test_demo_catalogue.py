"""The demo catalogue looks like a shop: unique products in both languages, believable prices,
a few on sale and a few sold out, and a picture of its own for each."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

from PIL import Image

from cloudmall.demo import CATEGORIES, demo_products, draw_picture
from cloudmall.demo_shapes import SHAPES


def test_every_product_is_unique_in_both_languages_and_in_a_demo_category() -> None:
    products = demo_products(480)
    assert len({p.name for p in products}) == len({p.name_en for p in products}) == 480
    assert {p.category for p in products} == {c.name_en.lower() for c in CATEGORIES}
    assert all(p.description and p.description_en for p in products)
    assert not any("#" in p.name or "#" in p.name_en for p in products)


def test_prices_are_believable_and_a_few_are_on_sale_or_sold_out() -> None:
    products = demo_products(120)
    assert all(p.price % 100 == 0 and p.price >= Decimal(5000) for p in products)
    on_sale = [p for p in products if p.list_price is not None]
    assert 8 <= len(on_sale) <= 20
    assert all(p.list_price > p.price for p in on_sale)  # type: ignore[operator]
    sold_out = [p for p in products if p.stock_quantity == 0]
    assert 5 <= len(sold_out) <= 15


def test_the_same_size_gives_the_same_catalogue() -> None:
    assert demo_products(30) == demo_products(30)
    assert demo_products(40)[:30] == demo_products(30)  # seeding more continues the same list


def test_each_picture_is_its_own() -> None:
    products = demo_products(36)
    pixels = set()
    for product in products:
        image = Image.open(io.BytesIO(draw_picture(product)))
        assert image.size == (480, 480) and image.format == "JPEG"
        pixels.add(hashlib.sha256(image.resize((48, 48)).tobytes()).hexdigest())
    assert len(pixels) == len(products)
    assert {p.shape for p in demo_products(360)} == set(SHAPES)  # every sketch is used
