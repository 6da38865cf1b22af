"""Images rebuilt from their pixels: upright, in sRGB, and carrying no metadata at all.

An upload's bytes are never published as they came: EXIF (GPS position, camera, time), XMP, IPTC,
comments and embedded colour profiles are all dropped by building a new image from the decoded
pixels, after the EXIF orientation has been applied to them.
"""

from __future__ import annotations

import io

from PIL import Image, ImageCms, ImageOps

# Modes the encoders take as they are; anything else (palette, CMYK, 16-bit) becomes RGB(A).
_KEPT_MODES = {"RGB", "RGBA", "L", "LA"}
_SRGB = ImageCms.createProfile("sRGB")
ENCODE_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 90},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 90},
}


def pixels_only(image: Image.Image) -> Image.Image:
    """A new image with the upload's pixels, turned upright and in sRGB, with empty metadata."""
    upright = ImageOps.exif_transpose(image) or image
    icc = image.info.get("icc_profile")
    if upright.mode not in _KEPT_MODES:
        upright = upright.convert(
            "RGBA" if "A" in upright.getbands() or "transparency" in upright.info else "RGB"
        )
    if icc and upright.mode in ("RGB", "RGBA"):
        upright = _to_srgb(upright, icc)
    return Image.frombytes(upright.mode, upright.size, upright.tobytes())


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """The colours as the embedded profile meant them, in sRGB (the profile itself is dropped)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: the pixels are taken as sRGB already
    return converted or image


def encode(image: Image.Image, image_format: str) -> bytes:
    """`image` in `image_format` (JPEG, PNG or WEBP), with nothing but pixels in the file."""
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")  # JPEG has no alpha channel
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **ENCODE_OPTIONS[image_format])
    return buffer.getvalue()
