"""The products context's PriceList in the same process (the monolith, and the products
service answering its internal route)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

from cloudmall.services.ports import UnitOfWorkFactory


class LocalPriceList:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def prices(self, product_ids: Collection[int]) -> Mapping[int, Decimal]:
        async with self._uow() as tx:
            products = await tx.products.get_many(product_ids)
        return {product_id: product.price for product_id, product in products.items()}
