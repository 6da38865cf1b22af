"""The payments service's refunds for the orders service (ports.PaymentDesk over HTTP)."""

from __future__ import annotations

from typing import cast

from cloudmall.services.ports import PaymentDesk
from cloudmall.web.deps import ShopDep
from cloudmall.web.internal_schemas import RefundIn, RefundOut
from cloudmall.web.routers.internal_auth import internal_router

router = internal_router("/payments/orders", "internal")


@router.post("/{order_id}/refund", response_model=RefundOut)
async def refund(order_id: int, body: RefundIn, shop: ShopDep) -> RefundOut:
    desk = cast(PaymentDesk, shop.tiers["payment_desk"])
    refunded = await desk.refund_order(order_id, reason=body.reason, user_id=body.user_id)
    return RefundOut(refunded=refunded)
