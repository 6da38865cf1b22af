"""The catalogue: the guide's GET /api/products, product pages, and the staff's edits."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile

from cloudmall.services import commands as c
from cloudmall.services.catalog import DEFAULT_PAGE, MAX_PAGE
from cloudmall.services.ports import ProductChanges
from cloudmall.web.deps import AdminDep, SettingsDep, ShopDep
from cloudmall.web.fields import MAX_ID
from cloudmall.web.routers.responses import cached_json, product_out
from cloudmall.web.schemas import (
    UNREADABLE_BODY,
    CategoryOut,
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
Row = dict[str, object]


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
    shop: ShopDep,
    q: Annotated[
        str | None, Query(max_length=100, description="search in name and description")
    ] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    sort: Sort = "id",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The guide's product list: a JSON array of product rows, cached as ready bytes."""
    query = c.ListProducts(search=q, category=category, sort=sort, limit=limit, offset=offset)
    return cached_json(request, await shop.handle(query))


@router.get("/categories", response_class=Response, responses={200: {"model": list[CategoryOut]}})
async def list_categories(request: Request, shop: ShopDep) -> Response:
    """Every category the staff manage, by slug, with how many products on sale it holds."""
    return cached_json(request, await shop.handle(c.ListCategories()))


@router.get(
    "/products/{product_id}",
    response_class=Response,
    responses={200: {"model": ProductRow}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def get_product(request: Request, shop: ShopDep, product_id: ProductId) -> Response:
    return cached_json(request, await shop.handle(c.GetProduct(product_id)))


@router.post("/products", status_code=201, response_model=ProductRow, responses=BODY_ERRORS)
async def create_product(body: ProductIn, request: Request, shop: ShopDep, admin: AdminDep) -> Row:
    return product_out(request, await shop.handle(c.CreateProduct(**body.model_dump())))


@router.patch("/products/{product_id}", response_model=ProductRow, responses=BODY_ERRORS)
async def update_product(
    product_id: ProductId, body: ProductPatch, request: Request, shop: ShopDep, admin: AdminDep
) -> Row:
    changes = ProductChanges(**body.model_dump(exclude_unset=True, exclude_none=True))
    return product_out(request, await shop.handle(c.UpdateProduct(product_id, changes)))


@router.delete("/products/{product_id}", status_code=204, responses=ERRORS)
async def delete_product(product_id: ProductId, shop: ShopDep, admin: AdminDep) -> Response:
    await shop.handle(c.DeleteProduct(product_id))
    return Response(status_code=204)


@router.put(
    "/products/{product_id}/image",
    response_model=ProductRow,
    responses=BODY_ERRORS,
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"encoding": IMAGE_PART}}}},
)
async def upload_image(
    product_id: ProductId,
    request: Request,
    shop: ShopDep,
    settings: SettingsDep,
    admin: AdminDep,
    file: Annotated[UploadFile, File(description="PNG, JPEG or WebP")],
) -> Row:
    """Attach an image; it is checked by its content, not its name or declared type."""
    data = await file.read(settings.image_max_bytes + 1)
    return product_out(request, await shop.handle(c.AttachImage(product_id, data)))
