"""The orders service's orders for the payments service (ports.OrderBook over HTTP), answered in
their one wire form (services.snapshots)."""

from __future__ import annotations

from typing import Any, cast

from cloudmall.services.ports import OrderBook, Principal
from cloudmall.services.shop import Shop
from cloudmall.services.snapshots import order_to_dict
from cloudmall.web.deps import ShopDep
from cloudmall.web.internal_schemas import ActingIn, MarkPaidIn
from cloudmall.web.routers.internal_auth import internal_router

router = internal_router("/orders", "internal")


def _book(shop: Shop) -> OrderBook:
    """This context's own order book (the in-process one: the orders service owns it)."""
    return cast(OrderBook, shop.tiers["order_book"])


def _principal(body: ActingIn) -> Principal:
    caller = body.principal
    return Principal(caller.user_id, caller.role, caller.token_version)


@router.post("/{order_id}/payable")
async def payable(order_id: int, body: ActingIn, shop: ShopDep) -> dict[str, Any]:
    order = await _book(shop).payable(_principal(body), order_id)
    return order_to_dict(order)


@router.post("/{order_id}/visible")
async def visible(order_id: int, body: ActingIn, shop: ShopDep) -> dict[str, Any]:
    order = await _book(shop).visible(_principal(body), order_id)
    return order_to_dict(order)


@router.post("/{order_id}/mark-paid")
async def mark_paid(order_id: int, body: MarkPaidIn, shop: ShopDep) -> dict[str, Any]:
    order = await _book(shop).mark_paid(order_id, payment_reference=body.payment_reference)
    return order_to_dict(order)
