"""Orders: the guide's POST /api/orders, my orders, paying and cancelling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from cloudmall.services import commands as c
from cloudmall.services import idempotency
from cloudmall.services.orders import MAX_PAGE
from cloudmall.web.deps import PrincipalDep, ShopDep
from cloudmall.web.fields import MAX_ID
from cloudmall.web.schemas import (
    UNREADABLE_BODY,
    AddressIn,
    OrderOut,
    PayIn,
    PaymentOut,
    PayOut,
    PlaceOrderIn,
    PlaceOrderOut,
    error_responses,
)

router = APIRouter(prefix="/api/orders", tags=["orders"])
ERRORS = error_responses(401, 402, 403, 404, 409, 422, 503)
BODY_ERRORS = {**ERRORS, **UNREADABLE_BODY}
OrderId = Annotated[int, Path(ge=1, le=MAX_ID)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=idempotency.MAX_KEY_LENGTH,
        pattern=idempotency.KEY_PATTERN,
        description="retries with the same key get the first answer",
    ),
]


def _replay_header(response: Response, replayed: bool) -> None:
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"


@router.post("", status_code=201, response_model=PlaceOrderOut, responses=BODY_ERRORS)
async def place_order(
    body: PlaceOrderIn,
    shop: ShopDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Place an order. Prices and the total are the server's: a `totalAmount` other than the
    goods' total gets 409; the delivery fee is added to what is charged. Without `address` or
    `addressId` the order's address is pending (`address: null`): PUT it before paying."""
    order = c.PlaceOrder(
        principal,
        items=body.pairs(),
        client_total=body.total_amount,
        idempotency_key=idempotency_key,
        claimed_user_id=body.user_id,
        address=body.delivery_address(),
        address_id=body.address_id,
    )
    placed = await shop.handle(order)
    answer = PlaceOrderOut(
        success=True,
        orderId=placed.order.id,
        message="주문이 완료되었습니다. (Your order has been placed.)",
        order=OrderOut.of(placed.order),
    )
    # The answer was built by its own model: written to JSON once, in pydantic's core, instead
    # of FastAPI validating it again against response_model and encoding it a second time.
    response = Response(answer.model_dump_json(by_alias=True), 201, media_type="application/json")
    _replay_header(response, placed.replayed)
    return response


@router.get("", response_model=list[OrderOut], responses=ERRORS)
async def my_orders(
    shop: ShopDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[OrderOut]:
    found = await shop.handle(c.ListMyOrders(principal, limit=limit, offset=offset))
    return [OrderOut.of(order) for order in found]


@router.get("/{order_id}", response_model=OrderOut, responses=ERRORS)
async def get_order(order_id: OrderId, shop: ShopDep, principal: PrincipalDep) -> OrderOut:
    return OrderOut.of(await shop.handle(c.GetOrder(principal, order_id)))


@router.post("/{order_id}/pay", response_model=PayOut, responses=BODY_ERRORS)
async def pay(
    order_id: OrderId,
    body: PayIn,
    response: Response,
    shop: ShopDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> PayOut:
    """Pay (simulated gateway): 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 declines.
    An order whose address is pending is refused (422 `address_required`).

    With an `Idempotency-Key` the card is charged once: a request sent again while the first is
    still at work waits for its answer (409 `payment_in_progress` if it takes over 10 s).
    """
    payment = c.PayOrder(
        principal,
        order_id,
        body.card_number,
        body.expiry,
        body.cvc,
        idempotency_key=idempotency_key,
    )
    paid = await shop.handle(payment)
    _replay_header(response, paid.replayed)
    return PayOut(order=OrderOut.of(paid.order), payment=PaymentOut.of(paid.payment))


@router.post("/{order_id}/cancel", response_model=OrderOut, responses=ERRORS)
async def cancel(order_id: OrderId, shop: ShopDep, principal: PrincipalDep) -> OrderOut:
    """Cancel a pending order, or a paid one not yet shipped (its charge is refunded). Its units
    go back to stock, and a charge is refunded, once: cancelling again answers the order as is."""
    return OrderOut.of(await shop.handle(c.CancelOrder(principal, order_id)))


@router.put("/{order_id}/address", response_model=OrderOut, responses=BODY_ERRORS)
async def set_address(
    order_id: OrderId, body: AddressIn, shop: ShopDep, principal: PrincipalDep
) -> OrderOut:
    """Give (or change) your order's delivery address, until it is shipped; the order keeps
    its own copy."""
    return OrderOut.of(await shop.handle(c.SetOrderAddress(principal, order_id, body.address())))


@router.get("/{order_id}/payments", response_model=list[PaymentOut], responses=ERRORS)
async def payments(order_id: OrderId, shop: ShopDep, principal: PrincipalDep) -> list[PaymentOut]:
    """The order's payments: `captured`, or `refunded` once cancelled after paying."""
    found = await shop.handle(c.ListOrderPayments(principal, order_id))
    return [PaymentOut.of(payment) for payment in found]
