"""Orders and payments as JSON-safe dicts: the first answer stored for an Idempotency-Key."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from cloudmall.domain.delivery import Address, Shipment
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.domain.payments import Payment, PaymentStatus


def order_to_dict(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "user_id": order.user_id,
        "status": order.status.value,
        "total_amount": str(order.total_amount),
        "lines": [
            {
                "product_id": line.product_id,
                "product_name": line.product_name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
            }
            for line in order.lines
        ],
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "subtotal": None if order.subtotal is None else str(order.subtotal),
        "delivery_fee": str(order.delivery_fee),
        "address": asdict(order.address) if order.address else None,
        "shipment": asdict(order.shipment) if order.shipment else None,
        "reservation_id": order.reservation_id,
    }


def order_from_dict(data: dict[str, Any]) -> Order:
    return Order(
        id=int(data["id"]),
        user_id=int(data["user_id"]),
        status=OrderStatus(data["status"]),
        total_amount=Decimal(data["total_amount"]),
        lines=tuple(
            OrderLine(
                product_id=int(line["product_id"]),
                product_name=str(line["product_name"]),
                quantity=int(line["quantity"]),
                unit_price=Decimal(line["unit_price"]),
            )
            for line in data["lines"]
        ),
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        # Answers stored before delivery fees have none of these.
        subtotal=Decimal(data["subtotal"]) if data.get("subtotal") else None,
        delivery_fee=Decimal(data.get("delivery_fee", "0.00")),
        address=Address(**data["address"]) if data.get("address") else None,
        shipment=Shipment(**data["shipment"]) if data.get("shipment") else None,
        reservation_id=data.get("reservation_id"),
    )


def payment_to_dict(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "order_id": payment.order_id,
        "amount": str(payment.amount),
        "status": payment.status.value,
        "intent_key": payment.intent_key,
        "provider_reference": payment.provider_reference,
        "card_last4": payment.card_last4,
        "created_at": payment.created_at.isoformat(),
    }


def payment_from_dict(data: dict[str, Any]) -> Payment:
    return Payment(
        id=int(data["id"]),
        order_id=int(data["order_id"]),
        amount=Decimal(data["amount"]),
        status=PaymentStatus(data["status"]),
        # Answers stored before intents had no key (their payments got `legacy-<id>`).
        intent_key=str(data.get("intent_key", f"legacy-{data['id']}")),
        provider_reference=data["provider_reference"],
        card_last4=str(data["card_last4"]),
        created_at=datetime.fromisoformat(data["created_at"]),
    )
