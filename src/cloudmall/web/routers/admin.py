"""Staff routes: every order, shipping and delivery, the overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from cloudmall.domain.delivery import Shipment
from cloudmall.domain.orders import OrderStatus
from cloudmall.services import commands as c
from cloudmall.services.lake import LakeSummary
from cloudmall.services.orders import MAX_PAGE
from cloudmall.web.deps import AdminDep, ShopDep
from cloudmall.web.fields import MAX_ID
from cloudmall.web.routers.responses import product_out
from cloudmall.web.schemas import (
    UNREADABLE_BODY,
    LakeHeadlineOut,
    OrderOut,
    OverviewOut,
    ProductRow,
    ShipIn,
    error_responses,
)

router = APIRouter(prefix="/api/admin", tags=["admin"])
ERRORS = error_responses(401, 403, 404, 409, 422)
OrderId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/orders", response_model=list[OrderOut], responses=ERRORS)
async def all_orders(
    shop: ShopDep,
    admin: AdminDep,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[OrderOut]:
    found = await shop.handle(c.ListAllOrders(admin, status=status, limit=limit, offset=offset))
    return [OrderOut.of(order) for order in found]


@router.post(
    "/orders/{order_id}/ship", response_model=OrderOut, responses={**ERRORS, **UNREADABLE_BODY}
)
async def ship(order_id: OrderId, body: ShipIn, shop: ShopDep, admin: AdminDep) -> OrderOut:
    """Mark a paid order shipped with its carrier and tracking number (the customer sees them);
    an order whose address is pending cannot be (422 `address_required`)."""
    shipment = Shipment(body.carrier, body.tracking_number)
    moved = await shop.handle(c.AdvanceOrder(admin, order_id, OrderStatus.SHIPPED, shipment))
    return OrderOut.of(moved)


@router.post("/orders/{order_id}/refund", response_model=OrderOut, responses=ERRORS)
async def refund(order_id: OrderId, shop: ShopDep, admin: AdminDep) -> OrderOut:
    """Refund a paid order not yet shipped: it is cancelled, its charge refunded and its units
    back in stock, once (a refunded order is the answer as it is; a shipped one gets 409)."""
    return OrderOut.of(await shop.handle(c.RefundOrder(admin, order_id)))


@router.post("/orders/{order_id}/deliver", response_model=OrderOut, responses=ERRORS)
async def deliver(order_id: OrderId, shop: ShopDep, admin: AdminDep) -> OrderOut:
    return OrderOut.of(await shop.handle(c.AdvanceOrder(admin, order_id, OrderStatus.DELIVERED)))


@router.get("/overview", response_model=OverviewOut, responses=ERRORS)
async def shop_overview(request: Request, shop: ShopDep, admin: AdminDep) -> OverviewOut:
    """Orders and revenue today (UTC), paid orders to ship, low-stock products; for operations,
    this process's cache hit ratio and the data lake's headline over the last 30 days (null if
    the lake cannot be read)."""
    found = await shop.handle(c.ShopOverview(admin))
    return OverviewOut(
        orders_today=found.orders_today,
        revenue_today=str(found.revenue_today),
        orders_to_ship=found.orders_to_ship,
        low_stock=[ProductRow.model_validate(product_out(request, p)) for p in found.low_stock],
        cache_hit_ratio=found.cache_hit_ratio,
        lake=lake_headline_out(found.lake),
    )


def lake_headline_out(summary: LakeSummary | None) -> LakeHeadlineOut | None:
    if summary is None:
        return None
    figures = summary.headline
    return LakeHeadlineOut(
        first_day=summary.first_day.isoformat(),
        last_day=summary.last_day.isoformat(),
        orders=figures.orders,
        paid_orders=figures.paid_orders,
        revenue=str(figures.revenue),
        average_order_value=(
            None if figures.average_order_value is None else str(figures.average_order_value)
        ),
        cancellation_rate=figures.cancellation_rate,
        payment_decline_rate=figures.payment_decline_rate,
    )
