"""The payments context's PaymentDesk in the same process (the monolith): a refund is the
payments context's use case, in that context's own transaction."""

from __future__ import annotations

from dataclasses import dataclass

from cloudmall.services.payments import refund_order_payment
from cloudmall.services.ports import Metrics, PaymentGateway, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class LocalPaymentDesk:
    uow: UnitOfWorkFactory
    gateway: PaymentGateway
    metrics: Metrics

    async def refund_order(self, order_id: int, *, reason: str, user_id: int | None) -> bool:
        return await refund_order_payment(
            uow=self.uow,
            gateway=self.gateway,
            metrics=self.metrics,
            order_id=order_id,
            reason=reason,
            user_id=user_id,
        )
