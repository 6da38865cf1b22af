"""Stored images, served with long immutable cache headers so browsers and CDNs keep them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from cloudmall.services import media
from cloudmall.web.deps import ContainerDep
from cloudmall.web.schemas import ErrorOut

router = APIRouter(tags=["media"])


@router.get("/media/{key:path}", response_class=Response, responses={404: {"model": ErrorOut}})
async def get_media(key: Annotated[str, Path(max_length=300)], container: ContainerDep) -> Response:
    stored = await media.read_media(store=container.store, key=key)
    return Response(
        content=stored.data,
        media_type=stored.content_type,
        headers={"Cache-Control": media.IMMUTABLE},
    )
