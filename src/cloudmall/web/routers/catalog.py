"""The catalogue: the guide's GET /api/products, product pages, and the staff's edits."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile

from cloudmall.services import catalog, media
from cloudmall.web.deps import AdminDep, ContainerDep
from cloudmall.web.fields import MAX_ID
from cloudmall.web.routers.responses import cached_json
from cloudmall.web.schemas import (
    UNREADABLE_BODY,
    ErrorOut,
    ProductIn,
    ProductPatch,
    ProductRow,
    error_responses,
)

router = APIRouter(prefix="/api", tags=["catalogue"])
ERRORS = error_responses(401, 403, 404, 413, 415, 422, 503)
BODY_ERRORS = {**ERRORS, **UNREADABLE_BODY}
ProductId = Annotated[int, Path(ge=1, le=MAX_ID)]
Sort = Literal["id", "price", "-price", "name", "newest"]
# The image formats the upload takes, recognised by content (adapters.images): other files get 415.
IMAGE_PART = {"file": {"contentType": "image/png, image/jpeg, image/webp"}}


@router.get(
    "/products",
    response_class=Response,
    responses={
        200: {"model": list[ProductRow], "description": "Products; total in X-Total-Count"},
        422: {"model": ErrorOut},
    },
)
async def list_products(
    request: Request,
    container: ContainerDep,
    q: Annotated[
        str | None, Query(max_length=100, description="search in name and description")
    ] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    sort: Sort = "id",
    limit: Annotated[int, Query(ge=1, le=catalog.MAX_PAGE)] = catalog.DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The guide's product list: a JSON array of product rows, cached as ready bytes."""
    query = catalog.make_query(search=q, category=category, sort=sort, limit=limit, offset=offset)
    page = await catalog.product_list(
        uow=container.uow, cache=container.catalog_cache, links=container.links, query=query
    )
    return cached_json(request, page)


@router.get("/categories", response_class=Response, responses={200: {"model": list[str]}})
async def list_categories(request: Request, container: ContainerDep) -> Response:
    names = await catalog.categories(uow=container.uow, cache=container.catalog_cache)
    return cached_json(request, names)


@router.get(
    "/products/{product_id}",
    response_class=Response,
    responses={200: {"model": ProductRow}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def get_product(request: Request, container: ContainerDep, product_id: ProductId) -> Response:
    body = await catalog.product_detail(
        uow=container.uow,
        cache=container.catalog_cache,
        links=container.links,
        product_id=product_id,
    )
    return cached_json(request, body)


@router.post("/products", status_code=201, response_model=ProductRow, responses=BODY_ERRORS)
async def create_product(
    body: ProductIn, container: ContainerDep, admin: AdminDep
) -> dict[str, object]:
    product = await catalog.create_product(
        uow=container.uow, cache=container.catalog_cache, **body.model_dump()
    )
    return catalog.product_row(product, container.links)


@router.patch("/products/{product_id}", response_model=ProductRow, responses=BODY_ERRORS)
async def update_product(
    product_id: ProductId, body: ProductPatch, container: ContainerDep, admin: AdminDep
) -> dict[str, object]:
    product = await catalog.update_product(
        uow=container.uow,
        cache=container.catalog_cache,
        product_id=product_id,
        changes=body.model_dump(exclude_unset=True, exclude_none=True),
    )
    return catalog.product_row(product, container.links)


@router.delete("/products/{product_id}", status_code=204, responses=ERRORS)
async def delete_product(
    product_id: ProductId, container: ContainerDep, admin: AdminDep
) -> Response:
    await catalog.delete_product(
        uow=container.uow, cache=container.catalog_cache, product_id=product_id
    )
    return Response(status_code=204)


@router.put(
    "/products/{product_id}/image",
    response_model=ProductRow,
    responses=BODY_ERRORS,
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"encoding": IMAGE_PART}}}},
)
async def upload_image(
    product_id: ProductId,
    container: ContainerDep,
    admin: AdminDep,
    file: Annotated[UploadFile, File(description="PNG, JPEG or WebP")],
) -> dict[str, object]:
    """Attach an image; it is checked by its content, not its name or declared type."""
    data = await file.read(container.settings.image_max_bytes + 1)
    product = await media.attach_image(
        uow=container.uow,
        store=container.store,
        images=container.images,
        cache=container.catalog_cache,
        product_id=product_id,
        data=data,
    )
    return catalog.product_row(product, container.links)
