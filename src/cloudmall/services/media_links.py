"""Public links to stored images, under the CDN base URL (or the app's own /media path)."""

from __future__ import annotations

from dataclasses import dataclass

IMAGES_PREFIX = "images/"
THUMBNAILS_PREFIX = "thumbs/"


def thumbnail_key(image_key: str) -> str:
    """The thumbnail of `images/<hash>.<ext>` is `thumbs/<hash>.webp`."""
    stem = image_key.removeprefix(IMAGES_PREFIX).rsplit(".", 1)[0]
    return f"{THUMBNAILS_PREFIX}{stem}.webp"


@dataclass(frozen=True, slots=True)
class MediaLinks:
    base_url: str = ""  # "" keeps links relative to the app: /media/<key>

    def url(self, key: str) -> str:
        base = self.base_url.rstrip("/")
        return f"{base}/media/{key}"

    def image_url(self, image_key: str | None) -> str | None:
        return self.url(image_key) if image_key else None

    def thumbnail_url(self, image_key: str | None) -> str | None:
        return self.url(thumbnail_key(image_key)) if image_key else None
