"""The staff's categories: add (a Korean and an English name), rename, delete when empty."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from cloudmall.domain.products import Category
from cloudmall.services import commands as c
from cloudmall.web.deps import AdminDep, ShopDep
from cloudmall.web.fields import MAX_ID
from cloudmall.web.presentation import category_row
from cloudmall.web.schemas import UNREADABLE_BODY, CategoryIn, CategoryOut, error_responses

router = APIRouter(prefix="/api/admin/categories", tags=["admin"])
ERRORS = error_responses(401, 403, 404, 409, 422)
BODY_ERRORS = {**ERRORS, **UNREADABLE_BODY}
CategoryId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _out(category: Category) -> CategoryOut:
    return CategoryOut.model_validate(category_row(category))


@router.post("", status_code=201, response_model=CategoryOut, responses=BODY_ERRORS)
async def add_category(body: CategoryIn, shop: ShopDep, admin: AdminDep) -> CategoryOut:
    """A new category; its slug is the English name's words (409 `category_exists` if taken)."""
    return _out(await shop.handle(c.AddCategory(name=body.name, name_en=body.name_en)))


@router.put("/{category_id}", response_model=CategoryOut, responses=BODY_ERRORS)
async def rename_category(
    category_id: CategoryId, body: CategoryIn, shop: ShopDep, admin: AdminDep
) -> CategoryOut:
    """New names; the slug stays, so products and links keep pointing at it."""
    renamed = await shop.handle(c.RenameCategory(category_id, body.name, body.name_en))
    return _out(renamed)


@router.delete("/{category_id}", status_code=204, responses=ERRORS)
async def delete_category(category_id: CategoryId, shop: ShopDep, admin: AdminDep) -> Response:
    """Only a category with no product on sale (409 `category_not_empty` otherwise)."""
    await shop.handle(c.DeleteCategory(category_id))
    return Response(status_code=204)
