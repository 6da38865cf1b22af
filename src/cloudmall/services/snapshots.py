"""Orders, payments, reservations and products as JSON-safe dicts: their one wire form, both the
first answer stored for an Idempotency-Key and the bodies of the internal routes between services
(web/routers/internal_*.py write them, adapters/http/desks.py reads them back)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from cloudmall.domain.delivery import Address, Shipment
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.domain.payments import Payment, PaymentStatus
from cloudmall.domain.products import Product
from cloudmall.domain.reservations import Reservation, ReservationStatus, ReservedLine


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


def reservation_to_dict(reservation: Reservation) -> dict[str, Any]:
    return {
        "id": reservation.id,
        "status": reservation.status.value,
        "lines": [
            {
                "product_id": line.product_id,
                "product_name": line.product_name,
                "unit_price": str(line.unit_price),
                "quantity": line.quantity,
            }
            for line in reservation.lines
        ],
        "expires_at": reservation.expires_at.isoformat(),
        "created_at": reservation.created_at.isoformat(),
        "updated_at": reservation.updated_at.isoformat(),
    }


def reservation_from_dict(data: dict[str, Any]) -> Reservation:
    return Reservation(
        id=str(data["id"]),
        status=ReservationStatus(data["status"]),
        lines=tuple(
            ReservedLine(
                product_id=int(line["product_id"]),
                product_name=str(line["product_name"]),
                unit_price=Decimal(line["unit_price"]),
                quantity=int(line["quantity"]),
            )
            for line in data["lines"]
        ),
        expires_at=datetime.fromisoformat(data["expires_at"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
    )


def product_to_dict(product: Product) -> dict[str, Any]:
    """A product whole, as the products context holds it (not the storefront's presentation)."""
    return {
        "id": product.id,
        "name": product.name,
        "price": str(product.price),
        "description": product.description,
        "category": product.category,
        "stock_quantity": product.stock_quantity,
        "image_key": product.image_key,
        "created_at": product.created_at.isoformat(),
        "updated_at": product.updated_at.isoformat(),
        "name_en": product.name_en,
        "description_en": product.description_en,
        "list_price": None if product.list_price is None else str(product.list_price),
        "category_name": product.category_name,
        "category_name_en": product.category_name_en,
    }


def product_from_dict(data: dict[str, Any]) -> Product:
    list_price = data.get("list_price")
    return Product(
        id=int(data["id"]),
        name=str(data["name"]),
        price=Decimal(data["price"]),
        description=str(data["description"]),
        category=str(data["category"]),
        stock_quantity=int(data["stock_quantity"]),
        image_key=data.get("image_key"),
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        name_en=data.get("name_en"),
        description_en=data.get("description_en"),
        list_price=None if list_price is None else Decimal(list_price),
        category_name=data.get("category_name"),
        category_name_en=data.get("category_name_en"),
    )
