"""The ports between contexts over HTTP: a service calls the owning service's internal routes
(web/routers/internal_*.py), which answer through that context's in-process adapter."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from urllib.parse import quote

from cloudmall.adapters.http.client import ServiceClient
from cloudmall.domain.delivery import Address
from cloudmall.domain.error_wire import from_wire
from cloudmall.domain.errors import CloudmallError
from cloudmall.domain.orders import Order
from cloudmall.domain.products import Product
from cloudmall.domain.reservations import Reservation
from cloudmall.services.ports import Principal, ReservationRequest
from cloudmall.services.snapshots import order_from_dict, product_from_dict, reservation_from_dict

STOCK = "/internal/v1/stock/reservations"
LOW_STOCK = "/internal/v1/stock/low"
PRICES = "/internal/v1/catalog/prices"
ADDRESSES = "/internal/v1/addresses"
ORDERS = "/internal/v1/orders"
PAYMENTS = "/internal/v1/payments/orders"


class HttpStockDesk:
    """ports.StockDesk: the products service's stock."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def reserve(
        self, requests: Sequence[ReservationRequest]
    ) -> list[Reservation | CloudmallError]:
        body = {
            "requests": [
                {
                    "id": request.id,
                    "quantities": [
                        {"product_id": product_id, "quantity": quantity}
                        for product_id, quantity in sorted(request.quantities.items())
                    ],
                }
                for request in requests
            ]
        }
        answer = await self._client.post(STOCK, body)
        return [
            reservation_from_dict(result["reservation"])
            if result.get("reservation") is not None
            else from_wire(result["error"])
            for result in answer["results"]
        ]

    async def confirm(self, reservation_id: str) -> Reservation:
        answer = await self._client.post(f"{STOCK}/{quote(reservation_id, safe='')}/confirm", {})
        return reservation_from_dict(answer)

    async def release(self, reservation_id: str, *, reason: str) -> Reservation | None:
        answer = await self._client.post(
            f"{STOCK}/{quote(reservation_id, safe='')}/release", {"reason": reason}
        )
        found = answer.get("reservation")
        return None if found is None else reservation_from_dict(found)

    async def low_stock(self, threshold: int) -> list[Product]:
        answer = await self._client.post(LOW_STOCK, {"threshold": threshold})
        return [product_from_dict(product) for product in answer["products"]]


class HttpPriceList:
    """ports.PriceList: the products service's prices."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def prices(self, product_ids: Collection[int]) -> Mapping[int, Decimal]:
        answer = await self._client.post(PRICES, {"product_ids": sorted(product_ids)})
        return {int(row["product_id"]): Decimal(row["price"]) for row in answer["prices"]}


class HttpAddressBook:
    """ports.AddressBook: the users service's saved addresses."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def saved(self, user_id: int, address_id: int) -> Address | None:
        answer = await self._client.post(f"{ADDRESSES}/{address_id}/saved", {"user_id": user_id})
        found = answer.get("address")
        return None if found is None else Address(**found)


class HttpOrderBook:
    """ports.OrderBook: the orders service's orders."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def payable(self, principal: Principal, order_id: int) -> Order:
        body = _acting(principal)
        return order_from_dict(await self._client.post(f"{ORDERS}/{order_id}/payable", body))

    async def visible(self, principal: Principal, order_id: int) -> Order:
        body = _acting(principal)
        return order_from_dict(await self._client.post(f"{ORDERS}/{order_id}/visible", body))

    async def mark_paid(self, order_id: int, *, payment_reference: str) -> Order:
        body = {"payment_reference": payment_reference}
        return order_from_dict(await self._client.post(f"{ORDERS}/{order_id}/mark-paid", body))


def _acting(principal: Principal) -> dict[str, object]:
    """The body naming the customer (or staff member) a call acts for."""
    return {
        "principal": {
            "user_id": principal.user_id,
            "role": principal.role.value,
            "token_version": principal.token_version,
        }
    }


class HttpPaymentDesk:
    """ports.PaymentDesk: the payments service's refunds."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def refund_order(self, order_id: int, *, reason: str, user_id: int | None) -> bool:
        body = {"reason": reason, "user_id": user_id}
        answer = await self._client.post(f"{PAYMENTS}/{order_id}/refund", body)
        return bool(answer["refunded"])
