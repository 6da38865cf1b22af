"""The staff overview shows the lake's headline: what `cloudmall lake export` moved there (not
live), and null, with the rest of the overview intact, when the lake cannot be read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.conftest import shop_env
from tests.e2e.client import create_product, log_in_admin, sign_up
from tests.support import (
    ADDRESS,
    card,
    cli,
    free_port,
    scratch_database,
    start_server,
    stop_server,
)


def test_the_overview_shows_the_lake_after_an_export(tmp_path: Path) -> None:
    with scratch_database("sqlite", tmp_path) as url:
        env = shop_env(url, tmp_path)
        server = start_server(env, tmp_path)
        try:
            admin = log_in_admin(server)
            mug = create_product(admin, stock=10, price="12.34")
            shopper = sign_up(server)
            orders = [
                shopper.post(
                    "/api/orders",
                    json={"items": [{"productId": mug["id"], "quantity": q}], "address": ADDRESS},
                )
                for q in (1, 2, 3)
            ]
            assert all(o.status_code == 201 for o in orders), [o.text for o in orders]
            first, second, third = (o.json()["orderId"] for o in orders)
            for order_id in (first, second):
                paid = shopper.post(f"/api/orders/{order_id}/pay", json=card("4242424242424242"))
                assert paid.status_code == 200, paid.text
            declined = shopper.post(f"/api/orders/{third}/pay", json=card("4000000000000002"))
            assert declined.status_code == 402
            assert shopper.post(f"/api/orders/{third}/cancel").status_code == 200

            before = admin.get("/api/admin/overview").json()["lake"]
            assert before["orders"] == 0 and before["revenue"] == "0.00"

            exported = cli(server.env, tmp_path, "lake", "export")
            assert exported.returncode == 0, exported.stderr
            lake = admin.get("/api/admin/overview").json()["lake"]
            assert lake["orders"] == 3
            assert lake["paid_orders"] == 2
            # What was charged: the goods and a ₩3,000 delivery fee each.
            assert Decimal(lake["revenue"]) == Decimal("12.34") * 3 + 2 * 3000
            assert Decimal(lake["average_order_value"]) == Decimal("3018.51")
            assert lake["cancellation_rate"] == 1 / 3
            assert lake["payment_decline_rate"] == 1 / 3
        finally:
            stop_server(server)

        # A lake that cannot be read: the overview still answers, without the lake's figures.
        unreachable = f"s3://lake?region=ap-northeast-2&endpoint_url=http://127.0.0.1:{free_port()}"
        env = shop_env(url, tmp_path, CLOUDMALL_LAKE_URL=unreachable)
        server = start_server(env, tmp_path)
        try:
            answer = log_in_admin(server).get("/api/admin/overview")
            assert answer.status_code == 200, answer.text
            assert answer.json()["lake"] is None
            assert answer.json()["orders_today"] == 2  # the cancelled one does not count
            assert "the lake could not answer the overview" in server.log()
        finally:
            stop_server(server)
