"""The products service's prices for the orders service's quotes (ports.PriceList over HTTP)."""

from __future__ import annotations

from typing import cast

from cloudmall.services.ports import PriceList
from cloudmall.web.deps import ShopDep
from cloudmall.web.internal_schemas import PriceOut, PricesIn, PricesOut
from cloudmall.web.routers.internal_auth import internal_router

router = internal_router("/catalog", "internal")


@router.post("/prices", response_model=PricesOut)
async def prices(body: PricesIn, shop: ShopDep) -> PricesOut:
    # This context's own price list (the in-process one: the products service owns it).
    found = await cast(PriceList, shop.tiers["price_list"]).prices(set(body.product_ids))
    return PricesOut(
        prices=[PriceOut(product_id=pid, price=price) for pid, price in sorted(found.items())]
    )
