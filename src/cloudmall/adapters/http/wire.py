"""The domain objects the internal routes answer, read back from their JSON (the routes write it
with the pydantic models of web/internal_schemas.py: the field names are the dataclasses')."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from cloudmall.domain.delivery import Address, Shipment
from cloudmall.domain.orders import Order, OrderLine, OrderStatus
from cloudmall.domain.products import Product
from cloudmall.domain.reservations import Reservation, ReservationStatus, ReservedLine


def reservation(data: dict[str, Any]) -> Reservation:
    return Reservation(
        id=data["id"],
        status=ReservationStatus(data["status"]),
        lines=tuple(
            ReservedLine(
                product_id=int(line["product_id"]),
                product_name=line["product_name"],
                unit_price=Decimal(line["unit_price"]),
                quantity=int(line["quantity"]),
            )
            for line in data["lines"]
        ),
        expires_at=datetime.fromisoformat(data["expires_at"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
    )


def order(data: dict[str, Any]) -> Order:
    address = data.get("address")
    shipment = data.get("shipment")
    subtotal = data.get("subtotal")
    return Order(
        id=int(data["id"]),
        user_id=int(data["user_id"]),
        status=OrderStatus(data["status"]),
        total_amount=Decimal(data["total_amount"]),
        lines=tuple(
            OrderLine(
                product_id=int(line["product_id"]),
                product_name=line["product_name"],
                quantity=int(line["quantity"]),
                unit_price=Decimal(line["unit_price"]),
            )
            for line in data["lines"]
        ),
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        subtotal=None if subtotal is None else Decimal(subtotal),
        delivery_fee=Decimal(data["delivery_fee"]),
        address=Address(**address) if address else None,
        shipment=Shipment(**shipment) if shipment else None,
        reservation_id=data.get("reservation_id"),
    )


def product(data: dict[str, Any]) -> Product:
    list_price = data.get("list_price")
    return Product(
        id=int(data["id"]),
        name=data["name"],
        price=Decimal(data["price"]),
        description=data["description"],
        category=data["category"],
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
