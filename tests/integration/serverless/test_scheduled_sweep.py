"""The sweeper function (`cloudmall.serverless.scheduled.expire_reservations`): once per scheduled
invocation it releases the stock reservations past their time, as a server's sweeper does every
30 s and `cloudmall stock expire` does once (the serverless stack keeps no loop running)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloudmall.config import Settings
from cloudmall.domain.reservations import ReservationStatus
from cloudmall.serverless import scheduled
from cloudmall.services import stock
from cloudmall.services.commands import CreateProduct
from cloudmall.services.ports import ReservationRequest
from tests.integration.serverless.conftest import (
    MakeFunction,
    function_environment,
    function_settings,
)

# What EventBridge sends a scheduled function (the handler reads none of it).
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def test_a_scheduled_invocation_releases_the_expired_reservations_once(
    make_function: MakeFunction, database_url: str, tmp_path: Path
) -> None:
    make_function()  # the migrated database
    sweeper = scheduled.SweepFunction(function_settings(database_url, tmp_path))
    shop, run = sweeper.shop, sweeper.loop.run_until_complete
    try:
        mug = run(shop.handle(CreateProduct(name="Mug", price="2.00", stock_quantity=5)))
        now = datetime.now(UTC)
        for rid, made in (("late", now - timedelta(hours=1)), ("in-time", now)):
            run(
                stock.reserve_many(
                    shop.tiers["uow"],  # type: ignore[arg-type]
                    [ReservationRequest(rid, {mug.id: 2})],
                    cache=shop.tiers["cache"],  # type: ignore[arg-type]
                    reservation_minutes=30,
                    now=made,
                )
            )
        assert sweeper(SCHEDULED, None) == {"released": 1}
        assert sweeper(SCHEDULED, None) == {"released": 0}  # nothing twice

        async def state() -> tuple[int, dict[str, ReservationStatus]]:
            async with shop.tiers["uow"]() as tx:  # type: ignore[operator]
                product = await tx.products.get(mug.id)
                found = await tx.reservations.get_many(["late", "in-time"])
            return product.stock_quantity, {r.id: r.status for r in found.values()}

        assert run(state()) == (
            3,  # the late one's 2 units back, the other's still held
            {"late": ReservationStatus.RELEASED, "in-time": ReservationStatus.RESERVED},
        )
    finally:
        run(shop.aclose())
        sweeper.loop.close()


def test_the_handler_is_built_on_first_access(
    make_function: MakeFunction,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name the stack gives Lambda: `cloudmall.serverless.scheduled.expire_reservations`."""
    make_function()
    for name, value in function_environment(database_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(scheduled.__dict__, "expire_reservations", raising=False)
    handler = scheduled.expire_reservations
    try:
        assert isinstance(handler, scheduled.SweepFunction)
        assert scheduled.expire_reservations is handler  # once per container
        assert handler(SCHEDULED, None) == {"released": 0}
    finally:
        handler.loop.run_until_complete(handler.shop.aclose())
        handler.loop.close()
        monkeypatch.delitem(scheduled.__dict__, "expire_reservations")


def test_outside_the_function_runtime_it_refuses_to_start(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        environment="test", database_url=database_url, var_dir=tmp_path, secret_key="k" * 64
    )
    with pytest.raises(ValueError, match="CLOUDMALL_RUNTIME=function"):
        scheduled.SweepFunction(settings)
