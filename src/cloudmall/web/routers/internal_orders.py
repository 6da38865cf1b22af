"""The orders service's orders for the payments service (ports.OrderBook over HTTP)."""

from __future__ import annotations

from typing import cast

from cloudmall.services.ports import OrderBook, Principal
from cloudmall.services.shop import Shop
from cloudmall.web.deps import ShopDep
from cloudmall.web.internal_schemas import InternalOrderOut, MarkPaidIn, PayableIn
from cloudmall.web.routers.internal_auth import internal_router

router = internal_router("/orders", "internal")


def _book(shop: Shop) -> OrderBook:
    """This context's own order book (the in-process one: the orders service owns it)."""
    return cast(OrderBook, shop.tiers["order_book"])


@router.post("/{order_id}/payable", response_model=InternalOrderOut)
async def payable(order_id: int, body: PayableIn, shop: ShopDep) -> InternalOrderOut:
    caller = body.principal
    principal = Principal(caller.user_id, caller.role, caller.token_version)
    return InternalOrderOut.model_validate(await _book(shop).payable(principal, order_id))


@router.post("/{order_id}/mark-paid", response_model=InternalOrderOut)
async def mark_paid(order_id: int, body: MarkPaidIn, shop: ShopDep) -> InternalOrderOut:
    order = await _book(shop).mark_paid(order_id, payment_reference=body.payment_reference)
    return InternalOrderOut.model_validate(order)
