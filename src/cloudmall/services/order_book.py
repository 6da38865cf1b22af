"""The orders context's OrderBook in the same process (the monolith): each call is one of the
orders context's use cases, in that context's own transactions."""

from __future__ import annotations

from dataclasses import dataclass

from cloudmall.domain.orders import Order
from cloudmall.services.order_payment import mark_order_paid, payable_order
from cloudmall.services.orders import get_order
from cloudmall.services.ports import Principal, StockDesk, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class LocalOrderBook:
    uow: UnitOfWorkFactory
    stock: StockDesk

    async def payable(self, principal: Principal, order_id: int) -> Order:
        return await payable_order(uow=self.uow, principal=principal, order_id=order_id)

    async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
        return await mark_order_paid(
            uow=self.uow, stock=self.stock, order_id=order_id, payment_reference=payment_reference
        )

    async def visible(self, principal: Principal, order_id: int) -> Order:
        return await get_order(uow=self.uow, principal=principal, order_id=order_id)
