"""A demo catalogue: products with pictures drawn locally by Pillow (no downloads)."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont

from cloudmall.services.commands import AttachImage, CreateProduct
from cloudmall.services.shop import Shop


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    nouns: tuple[str, ...]
    price_range: tuple[int, int]  # won
    colour: tuple[int, int, int]
    shape: str


CATEGORIES = (
    Category(
        "clothing",
        ("면 티셔츠", "후드 집업", "청바지", "린넨 셔츠", "니트 가디건"),
        (9_900, 89_000),
        (214, 96, 77),
        "shirt",
    ),
    Category(
        "electronics",
        ("무선 이어폰", "블루투스 스피커", "보조배터리", "기계식 키보드", "무선 마우스"),
        (19_000, 299_000),
        (66, 133, 244),
        "device",
    ),
    Category(
        "kitchen",
        ("머그컵", "텀블러", "프라이팬", "도마 세트", "커피 드리퍼"),
        (5_900, 79_000),
        (52, 168, 83),
        "cup",
    ),
    Category(
        "books",
        ("AWS 입문서", "파이썬 요리책", "클라우드 설계 패턴", "데이터베이스 원리", "여행 에세이"),
        (12_000, 45_000),
        (156, 39, 176),
        "book",
    ),
    Category(
        "sports",
        ("요가 매트", "러닝화", "덤벨 세트", "등산 배낭", "수영 고글"),
        (8_900, 159_000),
        (255, 152, 0),
        "ball",
    ),
    Category(
        "living",
        ("디퓨저", "무드등", "쿠션 커버", "수납 바구니", "벽시계"),
        (6_900, 69_000),
        (0, 150, 136),
        "lamp",
    ),
)
ADJECTIVES = (
    "클래식",
    "프리미엄",
    "유기농",
    "빈티지",
    "컴팩트",
    "디럭스",
    "스마트",
    "에코",
    "울트라",
    "핸드메이드",
)


@dataclass(frozen=True, slots=True)
class DemoProduct:
    name: str
    price: Decimal
    description: str
    category: Category
    stock_quantity: int
    number: int


def demo_products(count: int, *, seed: int = 2026) -> list[DemoProduct]:
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    products = []
    for number in range(1, count + 1):
        category = CATEGORIES[(number - 1) % len(CATEGORIES)]
        noun = category.nouns[(number // len(CATEGORIES)) % len(category.nouns)]
        adjective = ADJECTIVES[number % len(ADJECTIVES)]
        low, high = category.price_range
        price = Decimal(rng.randrange(low, high, 100))
        products.append(
            DemoProduct(
                name=f"{adjective} {noun} #{number:03d}",
                price=price,
                description=(
                    f"{adjective} {noun}. 튼튼한 소재로 만들어 매일 쓰기 좋고, 재활용 포장으로 "
                    "배송됩니다. 30일 이내 반품 가능. "
                    "Carefully made, shipped in recyclable packaging."
                ),
                category=category,
                stock_quantity=rng.choice((0, 3, 12, 25, 40, 80, 150)) if number % 17 else 0,
                number=number,
            )
        )
    return products


def draw_picture(product: DemoProduct, size: int = 640) -> bytes:
    """A simple product picture: a tinted background, the category's shape and the number."""
    base = product.category.colour
    shade = (product.number * 37) % 60
    background = tuple(min(255, channel + 120 - shade) for channel in base)
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    for step in range(0, size, 8):
        tint = tuple(max(0, channel - step // 16) for channel in background)
        draw.line([(0, step), (size, step)], fill=tint, width=8)
    c = size // 2
    _draw_shape(draw, product.category.shape, c, size // 4, base, background)
    font = ImageFont.load_default(size=size // 10)
    draw.text((c, size - size // 8), f"#{product.number:03d}", fill="white", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()


def _draw_shape(
    draw: ImageDraw.ImageDraw,
    shape: str,
    c: int,
    s: int,
    base: tuple[int, int, int],
    background: tuple[int, ...],
) -> None:
    """The category's shape, centred at (c, c), about 2·s across."""
    if shape == "shirt":
        draw.polygon(
            [
                (c - s, c - s),
                (c - s // 3, c - s - 20),
                (c + s // 3, c - s - 20),
                (c + s, c - s),
                (c + s + 40, c - s // 3),
                (c + s // 2, c - s // 4),
                (c + s // 2, c + s),
                (c - s // 2, c + s),
                (c - s // 2, c - s // 4),
                (c - s - 40, c - s // 3),
            ],
            fill=base,
        )
    elif shape == "device":
        draw.rounded_rectangle([c - s, c - s // 2, c + s, c + s // 2], radius=30, fill=base)
        draw.ellipse([c - 30, c - 30, c + 30, c + 30], fill=background)
    elif shape == "cup":
        draw.rectangle([c - s // 2, c - s // 2, c + s // 2, c + s // 2 + 40], fill=base)
        draw.arc(
            [c + s // 3, c - s // 4, c + s, c + s // 3], start=270, end=90, fill=base, width=22
        )
    elif shape == "book":
        draw.rectangle([c - s // 2 - 20, c - s, c + s // 2 + 20, c + s], fill=base)
        draw.rectangle(
            [c - s // 2 - 20, c - s, c - s // 2 + 5, c + s], fill=tuple(v // 2 for v in base)
        )
    elif shape == "ball":
        draw.ellipse([c - s, c - s, c + s, c + s], fill=base)
        draw.arc([c - s, c - s // 2, c + s, c + s], start=200, end=340, fill=background, width=10)
    else:
        draw.polygon(
            [(c - s // 2, c), (c + s // 2, c), (c + s // 4, c - s), (c - s // 4, c - s)], fill=base
        )
        draw.rectangle([c - 10, c, c + 10, c + s], fill=base)


async def load_demo_catalogue(
    shop: Shop,
    count: int,
    *,
    on_progress: Callable[[], None] = lambda: None,
    start: int = 1,
) -> int:
    """Create `count` demo products with pictures; returns how many were created."""
    for product in demo_products(start + count - 1)[start - 1 :]:
        created = await shop.handle(
            CreateProduct(
                name=product.name,
                price=product.price,
                description=product.description,
                category=product.category.slug,
                stock_quantity=product.stock_quantity,
            )
        )
        await shop.handle(AttachImage(created.id, draw_picture(product)))
        on_progress()
    return count
