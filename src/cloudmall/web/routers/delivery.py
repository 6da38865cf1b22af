"""Delivery: what an order will cost before it is placed, and the carriers orders ship with."""

from __future__ import annotations

from fastapi import APIRouter

from cloudmall.domain.delivery import CARRIERS
from cloudmall.services import commands as c
from cloudmall.web.deps import ShopDep
from cloudmall.web.schemas import (
    UNREADABLE_BODY,
    CarrierOut,
    QuoteIn,
    QuoteOut,
    carrier_out,
    error_responses,
)

router = APIRouter(prefix="/api/delivery", tags=["orders"])


@router.post(
    "/quote",
    response_model=QuoteOut,
    responses={**error_responses(404, 409, 422, 503), **UNREADABLE_BODY},
)
async def quote(body: QuoteIn, shop: ShopDep) -> QuoteOut:
    """The goods' total at today's prices, the delivery fee the shop's rule adds (computed here,
    never by the client) and the total an order of these items is charged."""
    return QuoteOut.of(await shop.handle(c.QuoteOrder(body.pairs())))


@router.get("/carriers", response_model=list[CarrierOut])
async def carriers() -> list[CarrierOut]:
    """The carriers (택배사) staff ship orders with, in Korean and English."""
    return [carrier_out(code) for code in CARRIERS]
