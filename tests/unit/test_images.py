"""Upload checks by content (Pillow), before any processing of what is refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cloudmall.adapters.images.pillow import PillowImageProcessor
from cloudmall.domain.errors import PayloadTooLarge, UnsupportedMedia

pytestmark = pytest.mark.anyio
PROCESSOR = PillowImageProcessor(max_bytes=200_000, max_pixels=1_000_000, thumbnail_size=64)


def picture(fmt: str, size: tuple[int, int] = (120, 80), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "teal").save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
async def test_accepted_formats_get_a_webp_thumbnail(fmt: str, ext: str) -> None:
    image = await PROCESSOR.process(picture(fmt))
    assert image.extension == ext and (image.width, image.height) == (120, 80)
    thumb = Image.open(io.BytesIO(image.thumbnail))
    assert thumb.format == "WEBP" and max(thumb.size) == 64


async def test_palette_png_converts_for_the_thumbnail() -> None:
    assert (await PROCESSOR.process(picture("PNG", mode="P"))).extension == "png"


@pytest.mark.parametrize(
    "data",
    [
        b"hello, I am a text file",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"<html><script>alert(1)</script></html>",
        b"GIF89a" + b"\x00" * 50,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 30,
    ],
    ids=["text", "svg", "html", "gif", "broken-png"],
)
async def test_anything_else_is_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedMedia):
        await PROCESSOR.process(data)


async def test_empty_oversized_and_too_many_pixels() -> None:
    with pytest.raises(UnsupportedMedia, match="empty"):
        await PROCESSOR.process(b"")
    with pytest.raises(PayloadTooLarge):
        await PROCESSOR.process(b"\x00" * 200_001)
    with pytest.raises(PayloadTooLarge, match="pixels"):
        await PROCESSOR.process(picture("PNG", size=(2000, 1000)))  # a small file that decodes huge


async def test_truncated_jpeg_is_refused() -> None:
    data = picture("JPEG", size=(400, 400))
    with pytest.raises(UnsupportedMedia):
        await PROCESSOR.process(data[: len(data) // 2])
