"""The products service's stock for the orders service (ports.StockDesk over HTTP): its
reservations, and the products running low (the staff's overview)."""

from __future__ import annotations

from typing import cast

from cloudmall.domain.error_wire import to_wire
from cloudmall.domain.reservations import Reservation
from cloudmall.services.ports import ReservationRequest, StockDesk
from cloudmall.services.shop import Shop
from cloudmall.web.deps import ShopDep
from cloudmall.web.internal_schemas import (
    LowStockIn,
    LowStockOut,
    ProductOut,
    ReleaseIn,
    ReleaseOut,
    ReservationOut,
    ReserveIn,
    ReserveOut,
    ReserveResultOut,
)
from cloudmall.web.routers.internal_auth import internal_router

router = internal_router("/stock", "internal")


def _desk(shop: Shop) -> StockDesk:
    """This context's own stock desk (the in-process one: the products service owns it)."""
    return cast(StockDesk, shop.tiers["stock_desk"])


def _out(reservation: Reservation) -> ReservationOut:
    return ReservationOut.model_validate(reservation)


@router.post("/reservations", response_model=ReserveOut)
async def reserve(body: ReserveIn, shop: ShopDep) -> ReserveOut:
    requests = [
        ReservationRequest(
            id=request.id,
            quantities={units.product_id: units.quantity for units in request.quantities},
        )
        for request in body.requests
    ]
    results = await _desk(shop).reserve(requests)
    return ReserveOut(
        results=[
            ReserveResultOut(reservation=_out(result))
            if isinstance(result, Reservation)
            else ReserveResultOut(error=to_wire(result))
            for result in results
        ]
    )


@router.post("/reservations/{reservation_id}/confirm", response_model=ReservationOut)
async def confirm(reservation_id: str, shop: ShopDep) -> ReservationOut:
    return _out(await _desk(shop).confirm(reservation_id))


@router.post("/reservations/{reservation_id}/release", response_model=ReleaseOut)
async def release(reservation_id: str, body: ReleaseIn, shop: ShopDep) -> ReleaseOut:
    released = await _desk(shop).release(reservation_id, reason=body.reason)
    return ReleaseOut(reservation=None if released is None else _out(released))


@router.post("/low", response_model=LowStockOut)
async def low_stock(body: LowStockIn, shop: ShopDep) -> LowStockOut:
    found = await _desk(shop).low_stock(body.threshold)
    return LowStockOut(products=[ProductOut.model_validate(product) for product in found])
