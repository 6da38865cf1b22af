"""Orders, payments, reservations and products have one JSON form (services.snapshots): the
internal routes write it, the HTTP adapters and the idempotency answers read it back."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from cloudmall.domain.delivery import Shipment
from cloudmall.domain.payments import Payment, PaymentStatus
from cloudmall.domain.reservations import Reservation, ReservationStatus, ReservedLine
from cloudmall.services import snapshots
from tests.unit.test_http_desks import KETTLE, ORDER, PLAIN

SRC = Path(snapshots.__file__).resolve().parents[1]
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
#: The domain objects that travel between services or into a stored answer.
WIRE_TYPES = {"Order", "OrderLine", "Payment", "Reservation", "ReservedLine", "Product"}
#: Where a request or a message is turned into objects: they read the wire form, never build it.
READERS = ("web", "adapters/http", "adapters/broker", "serverless", "cli")


def test_each_object_comes_back_equal_from_its_wire_form() -> None:
    reservation = Reservation(
        "o-1",
        ReservationStatus.SOLD,
        (ReservedLine(2, "주전자", Decimal("18000.00"), 1),),
        NOW + timedelta(minutes=30),
        NOW,
        NOW,
    )
    payment = Payment(
        4, 9, Decimal("6000.00"), PaymentStatus.CAPTURED, "pi_1", "sim_1", "4242", NOW
    )
    shipped = replace(ORDER, shipment=Shipment("CJ", "1234"), subtotal=None)
    assert snapshots.order_from_dict(snapshots.order_to_dict(ORDER)) == ORDER
    assert snapshots.order_from_dict(snapshots.order_to_dict(shipped)) == shipped
    assert snapshots.payment_from_dict(snapshots.payment_to_dict(payment)) == payment
    assert snapshots.reservation_from_dict(snapshots.reservation_to_dict(reservation)) == (
        reservation
    )
    for product in (KETTLE, PLAIN):
        assert snapshots.product_from_dict(snapshots.product_to_dict(product)) == product


def _builders(path: Path) -> set[str]:
    """The wire types a module constructs (calls by name)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in WIRE_TYPES
    }


def test_no_reader_builds_a_wire_object_of_its_own() -> None:
    """A second (de)serialiser in the routes or the adapters between services fails here."""
    found = {
        str(path.relative_to(SRC)): built
        for reader in READERS
        for path in sorted((SRC / reader).rglob("*.py"))
        if (built := _builders(path))
    }
    assert found == {}
    # The check does see a builder: snapshots itself builds each one.
    assert _builders(SRC / "services" / "snapshots.py") == WIRE_TYPES
