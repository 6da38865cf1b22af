"""Uploads checked by content with Pillow: PNG/JPEG/WebP only, bounded in bytes and pixels.

What is stored and served is re-encoded from the pixels (adapters/images/rebuild.py and
clean.py): upright, and with none of the upload's metadata.
"""

from __future__ import annotations

import functools

import anyio

from cloudmall.domain.errors import PayloadTooLarge, UnsupportedMedia
from cloudmall.services.ports import ProcessedImage


class PillowImageProcessor:
    def __init__(self, *, max_bytes: int, max_pixels: int, thumbnail_size: int) -> None:
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.thumbnail_size = thumbnail_size
        self._limiter = anyio.CapacityLimiter(2)

    async def process(self, data: bytes) -> ProcessedImage:
        if not data:
            raise UnsupportedMedia("The file is empty")
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(f"Images can be at most {self.max_bytes // (1024 * 1024)} MB")
        # Imported on the first upload: Pillow would cost the cold start of every function,
        # and only the staff's uploads (the orders function) use it.
        from cloudmall.adapters.images.rebuild import rebuild

        work = functools.partial(
            rebuild, max_pixels=self.max_pixels, thumbnail_size=self.thumbnail_size
        )
        return await anyio.to_thread.run_sync(work, data, limiter=self._limiter)
