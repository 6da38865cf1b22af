"""Locust: shoppers browsing, searching, looking at products and checking out, with think time.

Run by bench/run.py (headless). It reads BENCH_LOCUST_DATA, a JSON file written by the runner:
{"tokens": [...], "search_terms": [...], "categories": [...], "product_ids": [...]} — accounts
are created before the run (sign-up is Argon2-bound) and shared round robin by the users.

Each simulated shopper behaves like a browser: it revalidates catalogue pages with the ETag it got
last time (`If-None-Match`, answered 304 when unchanged; the API sends `max-age=0,
must-revalidate`), fetches each image only once (images are served as immutable), keeps its cart
client-side (nothing to call), and checks out with POST /api/orders then pays with the test card
4242 4242 4242 4242.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from typing import Any
from urllib.parse import quote

from locust import FastHttpUser, between, task

DATA: dict[str, Any] = {}
if os.environ.get("BENCH_LOCUST_DATA"):
    with open(os.environ["BENCH_LOCUST_DATA"], encoding="utf-8") as data_file:
        DATA = json.load(data_file)
_accounts = itertools.count()

TEST_CARD = {"cardNumber": "4242424242424242", "expiry": "12/49", "cvc": "123"}
#: Where a benchmark customer's orders go (paying needs an address).
ADDRESS = {
    "recipient": "김부하",
    "phone": "010-0000-0000",
    "postalCode": "06236",
    "address1": "서울 강남구 테헤란로 152",
}
# Think time between two actions of one shopper, in seconds (a page every 2–6 s).
THINK_MIN, THINK_MAX = 2.0, 6.0


class Shopper(FastHttpUser):
    wait_time = between(THINK_MIN, THINK_MAX)
    connection_timeout = 10.0
    network_timeout = 10.0

    def on_start(self) -> None:
        tokens = DATA.get("tokens") or []
        if not tokens:
            raise RuntimeError("BENCH_LOCUST_DATA has no tokens")
        self.token = tokens[next(_accounts) % len(tokens)]
        self.etags: dict[str, str] = {}
        self.seen_images: set[str] = set()
        self.cart: dict[int, int] = {}
        self.last_page: list[dict[str, Any]] = []

    # --- catalogue ---------------------------------------------------------------------

    def _catalogue(self, path: str, name: str) -> None:
        headers = {"If-None-Match": self.etags[path]} if path in self.etags else {}
        with self.client.get(path, headers=headers, name=name, catch_response=True) as answer:
            if answer.status_code == 200:
                etag = answer.headers.get("ETag")
                if etag:
                    self.etags[path] = etag
                try:
                    page = answer.json()
                except ValueError:
                    answer.failure("catalogue page is not JSON")
                    return
                if isinstance(page, list) and page:
                    self.last_page = page
                answer.success()
            elif answer.status_code == 304:
                answer.success()
            else:
                answer.failure(f"HTTP {answer.status_code}")

    def _images(self, product: dict[str, Any]) -> None:
        for key, name in (("thumbnail_url", "/media/[thumbnail]"), ("image_url", "/media/[image]")):
            url = product.get(key)
            if url and url not in self.seen_images:
                self.client.get(url, name=name)
                self.seen_images.add(url)

    @task(4)
    def browse(self) -> None:
        """The front page: the product list; sometimes a category or another sort order."""
        choice = random.random()
        categories = DATA.get("categories") or []
        if choice < 0.6 or not categories:
            self._catalogue("/api/products", "/api/products")
        elif choice < 0.85:
            category = random.choice(categories)
            self._catalogue(
                f"/api/products?category={quote(category)}", "/api/products?category=[c]"
            )
        else:
            sort = random.choice(["price", "-price", "newest"])
            self._catalogue(f"/api/products?sort={sort}", "/api/products?sort=[s]")
        for product in self.last_page[:4]:
            thumb = product.get("thumbnail_url")
            if thumb and thumb not in self.seen_images:
                self.client.get(thumb, name="/media/[thumbnail]")
                self.seen_images.add(thumb)

    @task(2)
    def search(self) -> None:
        terms = DATA.get("search_terms") or ["a"]
        term = random.choice(terms)
        self._catalogue(f"/api/products?q={quote(term)}", "/api/products?q=[term]")

    @task(4)
    def view_product(self) -> None:
        """Open a product: its page, then its thumbnail and picture; maybe put it in the cart."""
        if self.last_page and random.random() < 0.8:
            product_id = random.choice(self.last_page)["id"]
        else:
            product_id = random.choice(DATA.get("product_ids") or [1])
        path = f"/api/products/{product_id}"
        headers = {"If-None-Match": self.etags[path]} if path in self.etags else {}
        with self.client.get(
            path, headers=headers, name="/api/products/[id]", catch_response=True
        ) as answer:
            if answer.status_code == 200:
                product = answer.json()
                if answer.headers.get("ETag"):
                    self.etags[path] = answer.headers["ETag"]
                answer.success()
                self._images(product)
            elif answer.status_code == 304:
                answer.success()
            else:
                answer.failure(f"HTTP {answer.status_code}")
                return
        if random.random() < 0.3:  # add to cart: client-side only
            self.cart[product_id] = min(self.cart.get(product_id, 0) + 1, 3)

    @task(1)
    def checkout(self) -> None:
        """Check out the cart (or one product bought at once), then pay with the test card."""
        if not self.cart:
            self.cart = {random.choice(DATA.get("product_ids") or [1]): 1}
        items = [{"productId": pid, "quantity": qty} for pid, qty in self.cart.items()]
        auth = {"Authorization": f"Bearer {self.token}"}
        with self.client.post(
            "/api/orders",
            json={"items": items, "address": ADDRESS},
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
            name="/api/orders",
            catch_response=True,
        ) as answer:
            if answer.status_code != 201:
                answer.failure(f"HTTP {answer.status_code}: {answer.text[:120]}")
                return
            order_id = answer.json()["orderId"]
            answer.success()
        self.cart = {}
        with self.client.post(
            f"/api/orders/{order_id}/pay",
            json=TEST_CARD,
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
            name="/api/orders/[id]/pay",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}: {answer.text[:120]}")
            else:
                answer.success()
