"""The demo's product drawings: one small Pillow sketch per kind of product, centred at (x, y),
about 2·s across, in the product's colour (`rng` varies the details from picture to picture)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from PIL import ImageDraw

Colour = tuple[int, int, int]
Draw = ImageDraw.ImageDraw
Shape = Callable[[Draw, int, int, float, Colour, random.Random], None]


def shade(colour: Colour, amount: float) -> Colour:
    """Darker (amount < 0) or lighter (amount > 0)."""
    target = 255 if amount > 0 else 0
    r, g, b = (round(c + (target - c) * abs(amount)) for c in colour)
    return (r, g, b)


def _box(x: float, y: float, w: float, h: float) -> list[float]:
    return [x - w, y - h, x + w, y + h]


def shirt(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.polygon(
        [
            (x - s * 0.45, y - s),
            (x - s, y - s * 0.7),
            (x - s * 1.15, y - s * 0.1),
            (x - s * 0.7, y),
            (x - s * 0.65, y + s),
            (x + s * 0.65, y + s),
            (x + s * 0.7, y),
            (x + s * 1.15, y - s * 0.1),
            (x + s, y - s * 0.7),
            (x + s * 0.45, y - s),
        ],
        fill=c,
    )
    d.polygon([(x - s * 0.25, y - s), (x, y - s * 0.6), (x + s * 0.25, y - s)], fill=shade(c, 0.5))
    for i in range(4):
        d.ellipse(_box(x, y - s * 0.45 + i * s * 0.35, 4, 4), fill=shade(c, -0.4))


def hoodie(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    shirt(d, x, y, s, c, rng)
    d.ellipse(_box(x, y - s * 0.95, s * 0.4, s * 0.3), fill=shade(c, -0.25))
    d.rounded_rectangle(_box(x, y + s * 0.55, s * 0.4, s * 0.18), radius=8, fill=shade(c, -0.15))
    d.line([(x - 8, y - s * 0.7), (x - 8, y - s * 0.2)], fill="white", width=3)
    d.line([(x + 8, y - s * 0.7), (x + 8, y - s * 0.2)], fill="white", width=3)


def trousers(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.polygon(
        [
            (x - s * 0.6, y - s),
            (x + s * 0.6, y - s),
            (x + s * 0.8, y + s),
            (x + s * 0.1, y + s),
            (x, y - s * 0.3),
            (x - s * 0.1, y + s),
            (x - s * 0.8, y + s),
        ],
        fill=c,
    )
    d.rectangle([x - s * 0.6, y - s, x + s * 0.6, y - s * 0.85], fill=shade(c, -0.3))
    d.line([(x, y - s * 0.85), (x, y - s * 0.35)], fill=shade(c, -0.3), width=3)


def beanie(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.chord(_box(x, y + s * 0.3, s * 0.9, s * 1.1), 180, 360, fill=c)
    d.rounded_rectangle(_box(x, y + s * 0.4, s * 0.95, s * 0.25), radius=10, fill=shade(c, -0.2))
    for i in range(-4, 5):
        d.line([(x + i * s * 0.2, y + s * 0.2), (x + i * s * 0.2, y + s * 0.6)], fill=c, width=3)
    d.ellipse(_box(x, y - s * 0.85, s * 0.22, s * 0.22), fill=shade(c, 0.4))


def tote(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.arc(_box(x, y - s * 0.45, s * 0.4, s * 0.55), 180, 360, fill=shade(c, -0.3), width=10)
    d.polygon(
        [
            (x - s * 0.8, y - s * 0.4),
            (x + s * 0.8, y - s * 0.4),
            (x + s * 0.7, y + s),
            (x - s * 0.7, y + s),
        ],
        fill=c,
    )
    d.rectangle(_box(x, y + s * 0.3, s * 0.3, s * 0.2), fill=shade(c, 0.45))


def socks(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    for offset, tone in ((-s * 0.35, shade(c, -0.2)), (s * 0.35, c)):
        left = x + offset
        d.rectangle([left - s * 0.25, y - s, left + s * 0.25, y + s * 0.4], fill=tone)
        d.ellipse([left - s * 0.25, y + s * 0.15, left + s * 0.6, y + s * 0.75], fill=tone)
        d.rectangle([left - s * 0.25, y - s, left + s * 0.25, y - s * 0.75], fill=shade(tone, 0.5))


def earbuds(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rounded_rectangle(_box(x, y + s * 0.35, s * 0.9, s * 0.55), radius=int(s * 0.4), fill=c)
    d.line([(x - s * 0.85, y + s * 0.2), (x + s * 0.85, y + s * 0.2)], fill=shade(c, -0.3), width=3)
    for side in (-1, 1):
        bud_x = x + side * s * 0.45
        d.ellipse(_box(bud_x, y - s * 0.55, s * 0.28, s * 0.28), fill=shade(c, 0.55))
        d.rounded_rectangle(
            [bud_x - s * 0.08, y - s * 0.5, bud_x + s * 0.08, y - s * 0.05],
            radius=6,
            fill=shade(c, 0.55),
        )


def speaker(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rounded_rectangle(_box(x, y, s * 0.6, s), radius=int(s * 0.5), fill=c)
    for row in range(-3, 4):
        for col in range(-2, 3):
            d.ellipse(_box(x + col * s * 0.18, y + row * s * 0.22, 3, 3), fill=shade(c, -0.35))


def keyboard(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rounded_rectangle(_box(x, y + s * 0.2, s * 1.3, s * 0.55), radius=14, fill=shade(c, -0.3))
    key = s * 0.16
    for row in range(4):
        for col in range(12):
            left = x - s * 1.18 + col * key * 1.3
            top = y - s * 0.25 + row * key * 1.3
            d.rounded_rectangle([left, top, left + key, top + key], radius=3, fill=shade(c, 0.35))


def mouse(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.ellipse(_box(x, y, s * 0.55, s * 0.9), fill=c)
    d.line([(x, y - s * 0.9), (x, y - s * 0.2)], fill=shade(c, -0.35), width=3)
    d.rounded_rectangle(_box(x, y - s * 0.5, 6, s * 0.12), radius=5, fill=shade(c, 0.5))


def battery(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rounded_rectangle(_box(x, y, s * 0.55, s * 0.95), radius=18, fill=c)
    for i in range(rng.randint(2, 4)):
        d.ellipse(_box(x - s * 0.2 + i * s * 0.14, y + s * 0.6, 5, 5), fill=(120, 230, 140))
    d.rectangle(_box(x, y - s * 0.95, s * 0.15, 5), fill=shade(c, -0.4))


def watch(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rounded_rectangle(_box(x, y, s * 0.28, s * 1.05), radius=10, fill=shade(c, -0.2))
    d.rounded_rectangle(_box(x, y, s * 0.5, s * 0.55), radius=int(s * 0.18), fill=(40, 40, 46))
    d.rounded_rectangle(_box(x, y, s * 0.4, s * 0.45), radius=int(s * 0.14), fill=shade(c, 0.3))
    d.arc(_box(x, y, s * 0.25, s * 0.25), -90, rng.randint(60, 220), fill=(40, 40, 46), width=6)


def mug(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.arc(_box(x + s * 0.6, y, s * 0.38, s * 0.36), 270, 90, fill=c, width=int(s * 0.13))
    d.rounded_rectangle([x - s * 0.65, y - s * 0.7, x + s * 0.6, y + s * 0.8], radius=18, fill=c)
    d.ellipse([x - s * 0.65, y - s * 0.82, x + s * 0.6, y - s * 0.58], fill=shade(c, -0.35))
    for i in range(3):
        wave_x = x - s * 0.3 + i * s * 0.3
        d.arc(_box(wave_x, y - s * 1.05, 8, 16), 90, 270, fill=shade(c, -0.2), width=3)


def tumbler(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.polygon(
        [
            (x - s * 0.45, y - s * 0.8),
            (x + s * 0.45, y - s * 0.8),
            (x + s * 0.35, y + s),
            (x - s * 0.35, y + s),
        ],
        fill=c,
    )
    d.rounded_rectangle(_box(x, y - s * 0.92, s * 0.5, s * 0.14), radius=8, fill=shade(c, -0.4))
    d.rectangle(_box(x, y + s * 0.1, s * 0.42, s * 0.06), fill=shade(c, 0.4))


def pan(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rounded_rectangle([x + s * 0.5, y - 10, x + s * 1.35, y + 10], radius=8, fill=shade(c, -0.3))
    d.ellipse(_box(x - s * 0.2, y, s * 0.8, s * 0.5), fill=(48, 48, 52))
    d.ellipse(_box(x - s * 0.2, y, s * 0.68, s * 0.4), fill=c)


def board(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    wood = (150, 98, 60)
    d.rounded_rectangle(_box(x, y, s * 1.1, s * 0.65), radius=22, fill=wood)
    d.ellipse(_box(x + s * 0.85, y, 12, 12), fill=shade(wood, 0.6))
    for i in range(5):
        d.arc(
            _box(x - s * 0.2, y + i * 12 - 24, s * 0.7, 30),
            200,
            340,
            fill=shade(wood, -0.25),
            width=2,
        )
    d.ellipse(_box(x - s * 0.4, y - s * 0.1, s * 0.2, s * 0.2), fill=c)


def dripper(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rounded_rectangle([x - s * 0.55, y, x + s * 0.55, y + s], radius=20, fill=shade(c, 0.6))
    d.rectangle([x - s * 0.45, y + s * 0.45, x + s * 0.45, y + s * 0.9], fill=(92, 58, 36))
    d.polygon(
        [
            (x - s * 0.75, y - s * 0.8),
            (x + s * 0.75, y - s * 0.8),
            (x + s * 0.2, y),
            (x - s * 0.2, y),
        ],
        fill=c,
    )


def jar(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    glass = (214, 232, 236)
    for offset, height in ((-s * 0.55, 0.7), (s * 0.45, 0.95)):
        d.rounded_rectangle(
            [x + offset - s * 0.4, y + s * (1 - 2 * height), x + offset + s * 0.4, y + s],
            radius=14,
            fill=glass,
        )
        d.rectangle(
            [
                x + offset - s * 0.42,
                y + s * (1 - 2 * height) - 10,
                x + offset + s * 0.42,
                y + s * (1 - 2 * height) + 8,
            ],
            fill=c,
        )


def book(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rectangle([x - s * 0.7 + 12, y - s + 10, x + s * 0.7 + 12, y + s + 10], fill=(240, 236, 226))
    d.rectangle([x - s * 0.7, y - s, x + s * 0.7, y + s], fill=c)
    d.rectangle([x - s * 0.7, y - s, x - s * 0.55, y + s], fill=shade(c, -0.3))
    band = y - s * rng.uniform(0.5, 0.1)
    d.rectangle([x - s * 0.45, band, x + s * 0.55, band + s * 0.35], fill=shade(c, 0.7))
    for i in range(rng.randint(1, 3)):
        d.line(
            [(x - s * 0.35, band + 14 + i * 12), (x + s * 0.35, band + 14 + i * 12)],
            fill=shade(c, -0.2),
            width=4,
        )
    motif = rng.choice(("circle", "triangle", "none"))
    if motif == "circle":
        d.ellipse(_box(x + s * 0.05, y + s * 0.55, s * 0.22, s * 0.22), fill=shade(c, 0.45))
    elif motif == "triangle":
        d.polygon(
            [(x - s * 0.2, y + s * 0.8), (x + s * 0.3, y + s * 0.8), (x + s * 0.05, y + s * 0.35)],
            fill=shade(c, 0.45),
        )


def mat(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rectangle([x - s * 0.4, y - s * 0.8, x + s * 0.4, y + s * 0.6], fill=c)
    d.ellipse([x - s * 0.4, y + s * 0.3, x + s * 0.4, y + s * 0.95], fill=shade(c, -0.2))
    d.ellipse([x - s * 0.2, y + s * 0.45, x + s * 0.2, y + s * 0.8], fill=shade(c, 0.3))
    d.line(
        [(x - s * 0.45, y - s * 0.2), (x + s * 0.45, y - s * 0.2)], fill=shade(c, -0.45), width=6
    )


def shoe(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.polygon(
        [
            (x - s, y - s * 0.4),
            (x - s * 0.4, y - s * 0.45),
            (x + s * 0.1, y),
            (x + s * 1.0, y + s * 0.2),
            (x + s * 1.05, y + s * 0.5),
            (x - s, y + s * 0.5),
        ],
        fill=c,
    )
    d.rounded_rectangle(
        [x - s * 1.05, y + s * 0.45, x + s * 1.1, y + s * 0.65], radius=8, fill=(245, 245, 245)
    )
    for i in range(3):
        d.line(
            [
                (x - s * 0.35 + i * s * 0.14, y - s * 0.3 + i * 10),
                (x - s * 0.15 + i * s * 0.14, y - s * 0.1 + i * 10),
            ],
            fill="white",
            width=4,
        )


def dumbbell(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rectangle(_box(x, y, s * 0.7, s * 0.08), fill=(150, 150, 156))
    for side in (-1, 1):
        d.rounded_rectangle(_box(x + side * s * 0.75, y, s * 0.18, s * 0.55), radius=10, fill=c)
        d.rounded_rectangle(
            _box(x + side * s * 0.5, y, s * 0.1, s * 0.4), radius=8, fill=shade(c, -0.25)
        )


def backpack(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.arc(_box(x, y - s * 0.9, s * 0.25, s * 0.2), 180, 360, fill=shade(c, -0.3), width=8)
    d.rounded_rectangle(_box(x, y, s * 0.7, s * 0.95), radius=int(s * 0.3), fill=c)
    d.rounded_rectangle(_box(x, y + s * 0.4, s * 0.5, s * 0.35), radius=14, fill=shade(c, -0.2))
    d.line([(x - s * 0.4, y + s * 0.1), (x + s * 0.4, y + s * 0.1)], fill=shade(c, 0.4), width=4)


def ball(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.ellipse(_box(x, y, s * 0.9, s * 0.9), fill=(248, 248, 248))
    for i in range(5):
        angle = math.radians(i * 72 + rng.randint(0, 30))
        px, py = x + math.cos(angle) * s * 0.6, y + math.sin(angle) * s * 0.6
        d.regular_polygon((px, py, s * 0.2), 5, fill=c)
    d.regular_polygon((x, y, s * 0.25), 5, rotation=rng.randint(0, 72), fill=c)


def bottle(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rounded_rectangle([x - s * 0.35, y - s * 0.6, x + s * 0.35, y + s], radius=20, fill=c)
    d.rounded_rectangle(
        [x - s * 0.22, y - s, x + s * 0.22, y - s * 0.55], radius=10, fill=shade(c, -0.4)
    )
    d.rectangle([x - s * 0.35, y, x + s * 0.35, y + s * 0.3], fill=shade(c, 0.5))


def lamp(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.ellipse(_box(x, y - s * 0.45, s * 0.8, s * 0.55), fill=(255, 236, 170))
    d.polygon(
        [
            (x - s * 0.55, y - s * 0.1),
            (x + s * 0.55, y - s * 0.1),
            (x + s * 0.35, y - s * 0.9),
            (x - s * 0.35, y - s * 0.9),
        ],
        fill=c,
    )
    d.rectangle([x - 6, y - s * 0.1, x + 6, y + s * 0.8], fill=shade(c, -0.4))
    d.ellipse(_box(x, y + s * 0.85, s * 0.4, s * 0.12), fill=shade(c, -0.4))


def cushion(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.rounded_rectangle(_box(x, y, s * 0.95, s * 0.85), radius=int(s * 0.35), fill=c)
    accent = shade(c, rng.choice((-0.25, 0.4)))
    if rng.random() < 0.5:
        for i in range(-2, 3):
            d.line(
                [(x + i * s * 0.3, y - s * 0.75), (x + i * s * 0.3, y + s * 0.75)],
                fill=accent,
                width=6,
            )
    else:
        d.ellipse(_box(x, y, s * 0.35, s * 0.35), outline=accent, width=8)


def basket(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    rattan = (196, 160, 104)
    d.polygon(
        [
            (x - s, y - s * 0.4),
            (x + s, y - s * 0.4),
            (x + s * 0.8, y + s * 0.8),
            (x - s * 0.8, y + s * 0.8),
        ],
        fill=rattan,
    )
    for i in range(5):
        row = y - s * 0.3 + i * s * 0.22
        d.line([(x - s * 0.95, row), (x + s * 0.95, row)], fill=shade(rattan, -0.25), width=3)
    d.rectangle([x - s, y - s * 0.5, x + s, y - s * 0.35], fill=c)


def clock(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    d.ellipse(_box(x, y, s, s), fill=c)
    d.ellipse(_box(x, y, s * 0.85, s * 0.85), fill=(250, 248, 242))
    for hour in range(12):
        angle = math.radians(hour * 30)
        d.line(
            [
                (x + math.cos(angle) * s * 0.7, y + math.sin(angle) * s * 0.7),
                (x + math.cos(angle) * s * 0.78, y + math.sin(angle) * s * 0.78),
            ],
            fill=(60, 60, 60),
            width=4,
        )
    for length, turn in ((0.45, rng.uniform(0, 2 * math.pi)), (0.65, rng.uniform(0, 2 * math.pi))):
        d.line(
            [(x, y), (x + math.cos(turn) * s * length, y + math.sin(turn) * s * length)],
            fill=(40, 40, 40),
            width=6,
        )


def diffuser(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    for i in range(5):
        spread = (i - 2) * s * 0.18
        d.line([(x, y - s * 0.1), (x + spread, y - s * 1.05)], fill=(120, 88, 60), width=4)
    d.rounded_rectangle([x - s * 0.4, y - s * 0.2, x + s * 0.4, y + s], radius=18, fill=c)
    d.rectangle(_box(x, y + s * 0.4, s * 0.25, s * 0.15), fill=shade(c, 0.6))


def planter(d: Draw, x: int, y: int, s: float, c: Colour, rng: random.Random) -> None:
    leaf = (76, 140, 84)
    for i in range(rng.randint(3, 5)):
        angle = math.radians(-150 + i * 30)
        tip = (x + math.cos(angle) * s * 0.9, y - s * 0.2 + math.sin(angle) * s * 0.9)
        d.line([(x, y - s * 0.1), tip], fill=leaf, width=6)
        d.ellipse(_box(tip[0], tip[1], s * 0.16, s * 0.1), fill=leaf)
    d.polygon(
        [
            (x - s * 0.55, y - s * 0.1),
            (x + s * 0.55, y - s * 0.1),
            (x + s * 0.4, y + s),
            (x - s * 0.4, y + s),
        ],
        fill=c,
    )
    d.rectangle([x - s * 0.6, y - s * 0.2, x + s * 0.6, y], fill=shade(c, -0.2))


SHAPES: dict[str, Shape] = {
    shape.__name__: shape
    for shape in (
        shirt,
        hoodie,
        trousers,
        beanie,
        tote,
        socks,
        earbuds,
        speaker,
        keyboard,
        mouse,
        battery,
        watch,
        mug,
        tumbler,
        pan,
        board,
        dripper,
        jar,
        book,
        mat,
        shoe,
        dumbbell,
        backpack,
        ball,
        bottle,
        lamp,
        cushion,
        basket,
        clock,
        diffuser,
        planter,
    )
}
