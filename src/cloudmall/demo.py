"""A demo catalogue that looks like a real shop: named products in Korean and English, believable
won prices, a few on sale and a few sold out, each with its own picture drawn locally by Pillow."""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFilter

from cloudmall.demo_shapes import SHAPES, Colour
from cloudmall.domain.errors import CategoryExists
from cloudmall.services.commands import AddCategory, AttachImage, CreateProduct
from cloudmall.services.shop import Shop


@dataclass(frozen=True, slots=True)
class Item:
    ko: str
    en: str
    shape: str  # a drawing in demo_shapes.SHAPES
    price: tuple[int, int]  # won
    note_ko: str
    note_en: str


@dataclass(frozen=True, slots=True)
class DemoCategory:
    name: str
    name_en: str  # also its slug, lower-cased
    items: tuple[Item, ...]
    # Names by edition instead of colour (a book is not sold "in navy"), one per finish.
    editions: tuple[tuple[str, str], ...] = ()


BOOK_EDITIONS = (
    ("", ""),
    ("양장본", "hardcover"),
    ("개정판", "revised edition"),
    ("특별판", "special edition"),
    ("e북 포함", "with e-book"),
    ("큰글자책", "large print"),
    ("한정판", "limited edition"),
    ("소장판", "collector's edition"),
    ("보급판", "paperback"),
    ("사인본", "signed copy"),
)


@dataclass(frozen=True, slots=True)
class Finish:
    """A colour or material a product comes in: part of its name, and its picture's colour."""

    ko: str
    en: str
    colour: Colour


FINISHES = (
    Finish("차콜", "charcoal", (62, 66, 75)),
    Finish("아이보리", "ivory", (236, 228, 210)),
    Finish("세이지 그린", "sage green", (143, 169, 140)),
    Finish("네이비", "navy", (36, 52, 94)),
    Finish("테라코타", "terracotta", (196, 102, 72)),
    Finish("머스터드", "mustard", (214, 168, 56)),
    Finish("라벤더", "lavender", (164, 148, 204)),
    Finish("코랄", "coral", (240, 128, 112)),
    Finish("스카이 블루", "sky blue", (120, 176, 222)),
    Finish("버건디", "burgundy", (128, 36, 52)),
)

CATEGORIES = (
    DemoCategory(
        "의류",
        "Clothing",
        (
            Item(
                "린넨 셔츠",
                "linen shirt",
                "shirt",
                (39_000, 69_000),
                "통기성 좋은 린넨 100%",
                "pure, breathable linen",
            ),
            Item(
                "오버핏 후드",
                "oversized hoodie",
                "hoodie",
                (45_000, 79_000),
                "기모 안감의 두툼한 면",
                "brushed heavy cotton",
            ),
            Item(
                "와이드 데님",
                "wide-leg jeans",
                "trousers",
                (49_000, 89_000),
                "워싱 없는 단단한 데님",
                "rigid, unwashed denim",
            ),
            Item(
                "울 비니",
                "wool beanie",
                "beanie",
                (15_000, 29_000),
                "메리노 울 골지 짜임",
                "ribbed merino wool",
            ),
            Item(
                "캔버스 토트백",
                "canvas tote",
                "tote",
                (19_000, 39_000),
                "두꺼운 10온스 캔버스",
                "heavy 10 oz canvas",
            ),
            Item(
                "크루 양말 3족",
                "crew socks, 3 pairs",
                "socks",
                (9_000, 15_000),
                "발목을 잡아 주는 쿠션 바닥",
                "cushioned soles that stay up",
            ),
        ),
    ),
    DemoCategory(
        "전자기기",
        "Electronics",
        (
            Item(
                "무선 이어폰",
                "wireless earbuds",
                "earbuds",
                (59_000, 189_000),
                "노이즈 캔슬링, 최대 30시간 재생",
                "noise cancelling, up to 30 hours",
            ),
            Item(
                "블루투스 스피커",
                "Bluetooth speaker",
                "speaker",
                (39_000, 149_000),
                "생활 방수, 360도 사운드",
                "splash-proof, 360° sound",
            ),
            Item(
                "기계식 키보드",
                "mechanical keyboard",
                "keyboard",
                (69_000, 199_000),
                "저소음 갈축, 한영 각인",
                "quiet brown switches, Korean legends",
            ),
            Item(
                "무선 마우스",
                "wireless mouse",
                "mouse",
                (19_000, 79_000),
                "조용한 클릭, 충전식",
                "silent clicks, rechargeable",
            ),
            Item(
                "보조배터리 10000mAh",
                "10,000 mAh power bank",
                "battery",
                (25_000, 49_000),
                "USB-C 고속 충전",
                "fast USB-C charging",
            ),
            Item(
                "스마트 워치",
                "smart watch",
                "watch",
                (129_000, 349_000),
                "심박·수면 측정, 7일 배터리",
                "heart rate and sleep, 7-day battery",
            ),
        ),
    ),
    DemoCategory(
        "주방",
        "Kitchen",
        (
            Item(
                "도자기 머그",
                "ceramic mug",
                "mug",
                (12_000, 24_000),
                "손으로 빚은 350ml",
                "hand-thrown, 350 ml",
            ),
            Item(
                "보온 텀블러",
                "insulated tumbler",
                "tumbler",
                (19_000, 39_000),
                "12시간 보온·보냉",
                "hot or cold for 12 hours",
            ),
            Item(
                "무쇠 프라이팬",
                "cast-iron skillet",
                "pan",
                (39_000, 89_000),
                "길들여 나오는 26cm",
                "26 cm, pre-seasoned",
            ),
            Item(
                "원목 도마",
                "walnut cutting board",
                "board",
                (29_000, 69_000),
                "통원목 월넛",
                "solid walnut",
            ),
            Item(
                "핸드드립 세트",
                "pour-over coffee set",
                "dripper",
                (25_000, 59_000),
                "드리퍼와 서버 600ml",
                "dripper and 600 ml server",
            ),
            Item(
                "유리 밀폐용기 4종",
                "glass containers, set of 4",
                "jar",
                (22_000, 45_000),
                "오븐·전자레인지 사용 가능",
                "oven and microwave safe",
            ),
        ),
    ),
    DemoCategory(
        "도서",
        "Books",
        (
            Item(
                "클라우드 설계 패턴",
                "Cloud Design Patterns",
                "book",
                (28_000, 42_000),
                "AWS로 배우는 아키텍처",
                "architecture, learned on AWS",
            ),
            Item(
                "파이썬 실전 가이드",
                "Practical Python",
                "book",
                (25_000, 38_000),
                "예제로 익히는 3.11",
                "3.11, by example",
            ),
            Item(
                "한식 기본 레시피",
                "Korean Home Cooking",
                "book",
                (18_000, 32_000),
                "집밥 120가지",
                "120 everyday dishes",
            ),
            Item(
                "제주 여행 에세이",
                "Seasons on Jeju",
                "book",
                (14_000, 19_000),
                "사진과 함께 읽는 일 년",
                "a year in words and photos",
            ),
            Item(
                "데이터베이스 원리",
                "Database Internals",
                "book",
                (32_000, 45_000),
                "저장 엔진부터 복제까지",
                "from storage engines to replication",
            ),
            Item(
                "그림책 달빛 고양이",
                "The Moonlight Cat",
                "book",
                (12_000, 16_000),
                "온 가족이 읽는 그림책",
                "a picture book for all ages",
            ),
        ),
        editions=BOOK_EDITIONS,
    ),
    DemoCategory(
        "스포츠",
        "Sports",
        (
            Item(
                "요가 매트 6mm",
                "6 mm yoga mat",
                "mat",
                (29_000, 59_000),
                "미끄럼 방지 천연 고무",
                "non-slip natural rubber",
            ),
            Item(
                "러닝화",
                "running shoes",
                "shoe",
                (79_000, 169_000),
                "가벼운 쿠셔닝 미드솔",
                "light, cushioned midsole",
            ),
            Item(
                "덤벨 2kg 한 쌍",
                "2 kg dumbbells, pair",
                "dumbbell",
                (19_000, 35_000),
                "손에 감기는 네오프렌",
                "soft-grip neoprene",
            ),
            Item(
                "등산 배낭 30L",
                "30 L hiking pack",
                "backpack",
                (69_000, 139_000),
                "등판 통풍, 레인커버 포함",
                "ventilated back, rain cover",
            ),
            Item(
                "축구공 5호",
                "size 5 football",
                "ball",
                (25_000, 49_000),
                "열접합 32패널",
                "thermo-bonded 32 panels",
            ),
            Item(
                "스포츠 물병 750ml",
                "750 ml sports bottle",
                "bottle",
                (12_000, 25_000),
                "한 손으로 여는 뚜껑",
                "one-hand flip lid",
            ),
        ),
    ),
    DemoCategory(
        "리빙",
        "Living",
        (
            Item(
                "무드등",
                "bedside lamp",
                "lamp",
                (29_000, 79_000),
                "밝기 3단계, 따뜻한 빛",
                "three levels of warm light",
            ),
            Item(
                "쿠션 커버",
                "cushion cover",
                "cushion",
                (15_000, 32_000),
                "워싱 코튼 45×45cm",
                "washed cotton, 45 × 45 cm",
            ),
            Item(
                "라탄 수납 바구니",
                "rattan basket",
                "basket",
                (22_000, 49_000),
                "손으로 엮은 라탄",
                "hand-woven rattan",
            ),
            Item(
                "벽시계",
                "wall clock",
                "clock",
                (25_000, 65_000),
                "초침 소리 없는 무소음",
                "silent sweep movement",
            ),
            Item(
                "디퓨저 200ml",
                "200 ml reed diffuser",
                "diffuser",
                (19_000, 39_000),
                "은은한 우디 향",
                "a soft woody scent",
            ),
            Item(
                "미니 화분",
                "small planter",
                "planter",
                (12_000, 29_000),
                "배수 구멍이 있는 토분",
                "terracotta with a drain hole",
            ),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class DemoProduct:
    name: str
    name_en: str
    description: str
    description_en: str
    category: str  # slug
    price: Decimal
    list_price: Decimal | None  # set: on sale
    stock_quantity: int
    shape: str
    finish: Finish
    seed: int  # the picture's composition


def _won(amount: float) -> int:
    """A price the way shops write them: whole thousands, or hundreds ending in 900."""
    thousands = max(1, round(amount / 1000))
    return thousands * 1000 - (100 if thousands % 3 == 0 else 0)


def _names(category: DemoCategory, item: Item, finish: Finish) -> tuple[str, str, str, str]:
    """Korean and English name, and the part of each description that names the finish."""
    name_en = f"{item.en[:1].upper()}{item.en[1:]}"
    if not category.editions:
        return (
            f"{item.ko} {finish.ko}",
            f"{name_en}, {finish.en}",
            f"{finish.ko} 색상.",
            f"In {finish.en}.",
        )
    edition_ko, edition_en = category.editions[FINISHES.index(finish) % len(category.editions)]
    return (
        f"{item.ko} ({edition_ko})" if edition_ko else item.ko,
        f"{name_en} ({edition_en})" if edition_en else name_en,
        f"{edition_ko}." if edition_ko else "",
        f"{edition_en[:1].upper()}{edition_en[1:]}." if edition_en else "",
    )


def _catalogue() -> Iterator[tuple[DemoCategory, Item, Finish, int]]:
    """Every category's items in every finish, interleaved so any prefix is varied."""
    rounds = 0
    while True:
        for finish_index in range(len(FINISHES)):
            for item_index in range(max(len(c.items) for c in CATEGORIES)):
                for category_index, category in enumerate(CATEGORIES):
                    item = category.items[item_index % len(category.items)]
                    shift = (item_index * 3 + category_index) % len(FINISHES)
                    finish = FINISHES[(finish_index + shift) % len(FINISHES)]
                    yield category, item, finish, rounds
        rounds += 1


def demo_products(count: int, *, seed: int = 2026) -> list[DemoProduct]:
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    products = []
    for number, (category, item, finish, edition) in zip(range(count), _catalogue(), strict=False):
        suffix_ko = f" {edition + 1}세대" if edition else ""
        suffix_en = f", gen {edition + 1}" if edition else ""
        name, name_en, finish_ko, finish_en = _names(category, item, finish)
        low, high = item.price
        list_price = _won(rng.uniform(low, high))
        on_sale = number % 9 == 4
        price = (
            _won(list_price * (1 - rng.choice((0.1, 0.15, 0.2, 0.3)))) if on_sale else list_price
        )
        sold_out = number % 13 == 7
        products.append(
            DemoProduct(
                name=f"{name}{suffix_ko}",
                name_en=f"{name_en}{suffix_en}",
                description=" ".join(
                    part for part in (f"{item.note_ko}.", finish_ko, "30일 이내 무료 반품.") if part
                ),
                description_en=" ".join(
                    part
                    for part in (
                        f"{item.note_en[:1].upper()}{item.note_en[1:]}.",
                        finish_en,
                        "Free returns within 30 days.",
                    )
                    if part
                ),
                category=category.name_en.lower(),
                price=Decimal(price),
                list_price=Decimal(list_price) if on_sale and list_price > price else None,
                stock_quantity=0 if sold_out else rng.choice((3, 8, 14, 25, 40, 60, 120)),
                shape=item.shape,
                finish=finish,
                seed=rng.randrange(1 << 30),
            )
        )
    return products


def _mix(colour: Colour, other: Colour, amount: float) -> Colour:
    r, g, b = (round(c + (o - c) * amount) for c, o in zip(colour, other, strict=True))
    return (r, g, b)


def draw_picture(product: DemoProduct, size: int = 480) -> bytes:
    """The product on a backdrop: a soft two-tone ground, a pattern, a shadow, the object."""
    rng = random.Random(product.seed)  # noqa: S311 - demo data, not security
    colour = product.finish.colour
    hue = rng.choice(((250, 244, 236), (236, 242, 248), (244, 238, 246), (238, 246, 238)))
    backdrop = _mix(hue, colour, rng.uniform(0.05, 0.18))
    image = Image.new("RGB", (size, size), backdrop)
    draw = ImageDraw.Draw(image)
    floor = round(size * rng.uniform(0.62, 0.74))
    draw.rectangle([0, floor, size, size], fill=_mix(backdrop, (0, 0, 0), 0.07))
    pattern = rng.choice(("dots", "arc", "plain", "stripe"))
    accent = _mix(backdrop, colour, 0.22)
    if pattern == "dots":
        step = rng.choice((32, 40, 48))
        for y in range(step // 2, floor, step):
            for x in range(step // 2, size, step):
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=accent)
    elif pattern == "arc":
        radius = round(size * rng.uniform(0.3, 0.45))
        cx = rng.choice((round(size * 0.2), round(size * 0.8)))
        draw.ellipse([cx - radius, 40 - radius, cx + radius, 40 + radius], fill=accent)
    elif pattern == "stripe":
        width = rng.choice((18, 26))
        for x in range(-size, size, width * 3):
            draw.polygon(
                [(x, floor), (x + width, floor), (x + width + floor, 0), (x + floor, 0)],
                fill=accent,
            )
    centre_x = round(size * rng.uniform(0.44, 0.56))
    centre_y = round(floor - size * 0.22)
    scale = size * rng.uniform(0.26, 0.32)
    shadow = Image.new("L", (size, size), 0)
    ImageDraw.Draw(shadow).ellipse(
        [centre_x - scale, floor - 14, centre_x + scale, floor + 14], fill=90
    )
    image.paste((0, 0, 0), mask=shadow.filter(ImageFilter.BoxBlur(10)))
    SHAPES[product.shape](draw, centre_x, centre_y, scale, colour, rng)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=84)
    return buffer.getvalue()


async def add_demo_categories(shop: Shop) -> None:
    """The demo's categories, unless the staff have them already."""
    for category in CATEGORIES:
        with contextlib.suppress(CategoryExists):
            await shop.handle(AddCategory(name=category.name, name_en=category.name_en))


# Pictures drawn and attached at once: drawing and the shop's image work (decode, thumbnail,
# WebP) run in threads while the next products are written, so `serve` starts in seconds.
PICTURES_AT_ONCE = 4


async def load_demo_catalogue(
    shop: Shop,
    count: int,
    *,
    on_progress: Callable[[], None] = lambda: None,
    start: int = 1,
) -> int:
    """Create `count` demo products with pictures; returns how many were created."""
    await add_demo_categories(shop)
    room = asyncio.Semaphore(PICTURES_AT_ONCE)

    async def picture(product_id: int, product: DemoProduct) -> None:
        async with room:
            drawn = await asyncio.to_thread(draw_picture, product)
            await shop.handle(AttachImage(product_id, drawn))
        on_progress()

    async with asyncio.TaskGroup() as pictures:
        for product in demo_products(start + count - 1)[start - 1 :]:
            created = await shop.handle(
                CreateProduct(
                    name=product.name,
                    price=product.price,
                    description=product.description,
                    category=product.category,
                    stock_quantity=product.stock_quantity,
                    name_en=product.name_en,
                    description_en=product.description_en,
                    list_price=product.list_price,
                )
            )
            pictures.create_task(picture(created.id, product))
    return count
