"""Product images: checked by content, stored under content-hash keys, served immutable."""

from __future__ import annotations

import re

from cloudmall.domain.errors import DependencyUnavailable, NotFound
from cloudmall.domain.products import Product
from cloudmall.services.catalog_cache import CatalogCache
from cloudmall.services.media_links import IMAGES_PREFIX, THUMBNAILS_PREFIX, thumbnail_key
from cloudmall.services.ports import (
    ImageProcessor,
    ObjectStore,
    ProductChanges,
    StorageUnavailable,
    StoredObject,
    UnitOfWorkFactory,
)

IMMUTABLE = "public, max-age=31536000, immutable"
#: The only keys the shop serves: what attach_image makes (a content hash and an extension).
SERVED_KEY = re.compile(
    rf"(?:{re.escape(IMAGES_PREFIX)}|{re.escape(THUMBNAILS_PREFIX)})[0-9a-f]{{16,128}}\.[a-z]{{3,4}}"
)


async def attach_image(
    *,
    uow: UnitOfWorkFactory,
    store: ObjectStore,
    images: ImageProcessor,
    cache: CatalogCache,
    product_id: int,
    data: bytes,
) -> Product:
    """Store an image and its thumbnail, then point the product at them.

    The objects are written first: if the store fails, the product is left as it was, never
    pointing at an image that is not there.
    """
    async with uow() as tx:
        if await tx.products.get(product_id) is None:
            raise NotFound(f"Product {product_id} does not exist")
    image = await images.process(data)
    key = f"{IMAGES_PREFIX}{image.digest}.{image.extension}"
    try:
        await store.put(
            key, image.original, content_type=image.content_type, cache_control=IMMUTABLE
        )
        await store.put(
            thumbnail_key(key), image.thumbnail, content_type="image/webp", cache_control=IMMUTABLE
        )
    except StorageUnavailable as exc:
        raise DependencyUnavailable(
            "The image store is unavailable; the image was not saved"
        ) from exc
    async with uow(write=True) as tx:
        product = await tx.products.update(product_id, ProductChanges(image_key=key))
        if product is None:
            raise NotFound(f"Product {product_id} does not exist")
        await tx.commit()
    await cache.invalidate()
    return product


async def read_media(*, store: ObjectStore, key: str) -> StoredObject:
    # Keys are ours (content hashes): anything else is missing, and never reaches a store, where
    # a NUL, "..", an overlong name or another prefix (backups) could mean something else.
    if not SERVED_KEY.fullmatch(key):
        raise NotFound("No such file")
    try:
        stored = await store.get(key)
    except StorageUnavailable as exc:
        raise DependencyUnavailable("The image store is unavailable") from exc
    if stored is None:
        raise NotFound("No such file")
    return stored
