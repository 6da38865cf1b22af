"""The products service's stock for the orders service (ports.StockDesk over HTTP): its
reservations, and the products running low (the staff's overview), in their one wire form
(services.snapshots)."""

from __future__ import annotations

from typing import Any, cast

from cloudmall.domain.error_wire import to_wire
from cloudmall.domain.reservations import Reservation
from cloudmall.services.ports import ReservationRequest, StockDesk
from cloudmall.services.shop import Shop
from cloudmall.services.snapshots import product_to_dict, reservation_to_dict
from cloudmall.web.deps import ShopDep
from cloudmall.web.internal_schemas import LowStockIn, ReleaseIn, ReserveIn
from cloudmall.web.routers.internal_auth import internal_router

router = internal_router("/stock", "internal")


def _desk(shop: Shop) -> StockDesk:
    """This context's own stock desk (the in-process one: the products service owns it)."""
    return cast(StockDesk, shop.tiers["stock_desk"])


@router.post("/reservations")
async def reserve(body: ReserveIn, shop: ShopDep) -> dict[str, Any]:
    """Each request's answer: its reservation, or why it was refused (domain.error_wire)."""
    requests = [
        ReservationRequest(
            id=request.id,
            quantities={units.product_id: units.quantity for units in request.quantities},
        )
        for request in body.requests
    ]
    results = await _desk(shop).reserve(requests)
    return {
        "results": [
            {"reservation": reservation_to_dict(result)}
            if isinstance(result, Reservation)
            else {"error": to_wire(result)}
            for result in results
        ]
    }


@router.post("/reservations/{reservation_id}/confirm")
async def confirm(reservation_id: str, shop: ShopDep) -> dict[str, Any]:
    return reservation_to_dict(await _desk(shop).confirm(reservation_id))


@router.post("/reservations/{reservation_id}/release")
async def release(reservation_id: str, body: ReleaseIn, shop: ShopDep) -> dict[str, Any]:
    """The reservation released, or None: no such reservation (nothing was taken)."""
    released = await _desk(shop).release(reservation_id, reason=body.reason)
    return {"reservation": None if released is None else reservation_to_dict(released)}


@router.post("/low")
async def low_stock(body: LowStockIn, shop: ShopDep) -> dict[str, Any]:
    found = await _desk(shop).low_stock(body.threshold)
    return {"products": [product_to_dict(product) for product in found]}
