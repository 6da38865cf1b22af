"""The staff's overview: today's orders and revenue, orders to ship, products running low; and
the operations figures (this process's cache, the data lake's headline).

Two contexts answer it: the orders context its figures, in its own transaction; the products
context its low stock, through the StockDesk (in process, or over HTTP where the products
service owns the catalogue)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from cloudmall.domain.orders import OrderStatus
from cloudmall.domain.products import Product
from cloudmall.services.lake import LakeSummary
from cloudmall.services.orders import require_admin
from cloudmall.services.ports import Principal, ProductQuery, StockDesk, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Overview:
    orders_today: int
    revenue_today: Decimal
    low_stock: list[Product]
    orders_to_ship: int = 0  # paid, not yet shipped
    cache_hit_ratio: float | None = None  # this process's catalogue cache, None before a lookup
    lake: LakeSummary | None = None  # the lake's report headline; None if the lake cannot answer


async def overview(
    *,
    uow: UnitOfWorkFactory,
    stock: StockDesk,
    principal: Principal,
    low_stock_threshold: int,
    now: datetime | None = None,
) -> Overview:
    require_admin(principal)
    midnight = datetime.combine((now or datetime.now(UTC)).date(), time.min, tzinfo=UTC)
    async with uow() as tx:
        count, revenue = await tx.orders.placed_since(midnight)
        to_ship = await tx.orders.count_with_status(OrderStatus.PAID)
    # After the orders' transaction ends: no transaction waits on another service's answer.
    low = await stock.low_stock(low_stock_threshold)
    return Overview(
        orders_today=count, revenue_today=revenue, low_stock=low, orders_to_ship=to_ship
    )


@dataclass(frozen=True, slots=True)
class ShopSize:
    products: int
    users: int

    @property
    def empty(self) -> bool:
        return self.products == 0 and self.users == 0


async def shop_size(
    *, uow: UnitOfWorkFactory, products: bool = True, users: bool = True
) -> ShopSize:
    """How many products are on sale and how many accounts exist; a service's database holds
    one of the two tables at most, so it counts only what it asks (the other is 0)."""
    async with uow() as tx:
        return ShopSize(
            await tx.products.count(ProductQuery()) if products else 0,
            await tx.users.count() if users else 0,
        )
