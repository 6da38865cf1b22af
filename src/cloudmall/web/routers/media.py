"""Stored images, served with long immutable cache headers so browsers and CDNs keep them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from cloudmall.services.commands import ReadMedia
from cloudmall.services.media import IMMUTABLE
from cloudmall.web.deps import ShopDep
from cloudmall.web.schemas import ErrorOut

router = APIRouter(tags=["media"])


@router.get("/media/{key:path}", response_class=Response, responses={404: {"model": ErrorOut}})
async def get_media(key: Annotated[str, Path(max_length=300)], shop: ShopDep) -> Response:
    stored = await shop.handle(ReadMedia(key))
    return Response(
        stored.data, media_type=stored.content_type, headers={"Cache-Control": IMMUTABLE}
    )
