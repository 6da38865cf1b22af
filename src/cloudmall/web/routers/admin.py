"""Staff routes: every order, shipping and delivery, the overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from cloudmall.adapters.metrics import cache_hit_ratio
from cloudmall.domain.orders import OrderStatus
from cloudmall.services import catalog, orders, overview
from cloudmall.web.deps import AdminDep, ContainerDep
from cloudmall.web.fields import MAX_ID
from cloudmall.web.schemas import OrderOut, OverviewOut, ProductRow, error_responses

router = APIRouter(prefix="/api/admin", tags=["admin"])
ERRORS = error_responses(401, 403, 404, 409, 422)
OrderId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/orders", response_model=list[OrderOut], responses=ERRORS)
async def all_orders(
    container: ContainerDep,
    admin: AdminDep,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=orders.MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[OrderOut]:
    found = await orders.list_all_orders(
        uow=container.uow, principal=admin, status=status, limit=limit, offset=offset
    )
    return [OrderOut.of(order) for order in found]


@router.post("/orders/{order_id}/ship", response_model=OrderOut, responses=ERRORS)
async def ship(order_id: OrderId, container: ContainerDep, admin: AdminDep) -> OrderOut:
    order = await orders.advance_order(
        uow=container.uow, principal=admin, order_id=order_id, target=OrderStatus.SHIPPED
    )
    return OrderOut.of(order)


@router.post("/orders/{order_id}/deliver", response_model=OrderOut, responses=ERRORS)
async def deliver(order_id: OrderId, container: ContainerDep, admin: AdminDep) -> OrderOut:
    order = await orders.advance_order(
        uow=container.uow, principal=admin, order_id=order_id, target=OrderStatus.DELIVERED
    )
    return OrderOut.of(order)


@router.get("/overview", response_model=OverviewOut, responses=ERRORS)
async def shop_overview(container: ContainerDep, admin: AdminDep) -> OverviewOut:
    """Orders and revenue today (UTC), low-stock products, this process's cache hit ratio."""
    found = await overview.overview(
        uow=container.uow,
        principal=admin,
        low_stock_threshold=container.settings.low_stock_threshold,
    )
    return OverviewOut(
        orders_today=found.orders_today,
        revenue_today=str(found.revenue_today),
        low_stock=[
            ProductRow.model_validate(catalog.product_row(p, container.links))
            for p in found.low_stock
        ],
        cache_hit_ratio=cache_hit_ratio(),
    )
