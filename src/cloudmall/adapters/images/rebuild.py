"""An upload decoded with Pillow, bounded in pixels, and rebuilt from its pixels (clean.py): what
`PillowImageProcessor` runs in a worker thread."""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, UnidentifiedImageError

from cloudmall.adapters.images.clean import encode, pixels_only
from cloudmall.domain.errors import PayloadTooLarge, UnsupportedMedia
from cloudmall.services.ports import ProcessedImage

FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}


def rebuild(data: bytes, *, max_pixels: int, thumbnail_size: int) -> ProcessedImage:
    """The upload checked and re-encoded from its pixels, with its WebP thumbnail."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the header is read here: format and size are known before any decoding.
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            width, height = image.size
            if width * height > max_pixels:
                raise PayloadTooLarge(
                    f"Images can be at most {max_pixels:,} pixels; this one is {width}×{height}"
                )
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard fires (from the header alone) above ~90 M pixels: same answer.
        raise PayloadTooLarge(f"Images can be at most {max_pixels:,} pixels") from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia("Upload a PNG, JPEG or WebP image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedMedia("The image is damaged or truncated") from exc
    image_format = str(image.format)
    extension, content_type = FORMATS[image_format]
    clean = pixels_only(image)
    original = encode(clean, image_format)
    thumbnail = clean.copy()
    thumbnail.thumbnail((thumbnail_size, thumbnail_size))
    if thumbnail.mode not in ("RGB", "RGBA"):
        thumbnail = thumbnail.convert("RGBA" if "A" in thumbnail.getbands() else "RGB")
    buffer = io.BytesIO()
    thumbnail.save(buffer, format="WEBP", quality=80)
    return ProcessedImage(
        digest=hashlib.sha256(original).hexdigest(),
        extension=extension,
        content_type=content_type,
        width=clean.width,
        height=clean.height,
        original=original,
        thumbnail=buffer.getvalue(),
    )
