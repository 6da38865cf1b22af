"""Products as items: one per product; the ones on sale also in the catalogue index (GSI1, by
name) and their category's (GSI2, by name). A product's category names are read from the
category's item (one BatchGetItem for a page's categories), as SQL reads them by a subquery."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from cloudmall.adapters.dynamodb.table import (
    CATALOG,
    category_key,
    category_partition,
    moment,
    money,
    product_key,
    sortable_id,
    timestamp,
)
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.domain.products import Product
from cloudmall.services.ports import (
    NO_LIST_PRICE,
    NewProduct,
    ProductChanges,
    ProductQuery,
    RetryableConflict,
)

_ON_SALE_INDEXES = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
_FIELDS = {  # port field → attribute
    "name": "name",
    "price": "price",
    "description": "description",
    "category": "category",
    "stock_quantity": "stock",
    "image_key": "image_key",
    "name_en": "name_en",
    "description_en": "description_en",
    "list_price": "list_price",
}
_SORTS: dict[str, Any] = {
    "id": lambda p: (p.id,),
    "price": lambda p: (p.price, p.id),
    "-price": lambda p: (-p.price, p.id),
    "name": lambda p: (p.name, p.id),
    "newest": lambda p: (-p.created_at.timestamp(), -p.id),
}


def _product(item: dict[str, Any], names: dict[str, Any] | None = None) -> Product:
    """`names`: the product's category's item (None if it has none)."""
    list_price = item.get("list_price")
    return Product(
        id=int(item["id"]),
        name=item["name"],
        price=money(item["price"]),
        description=item["description"],
        category=item["category"],
        stock_quantity=int(item["stock"]),
        image_key=item.get("image_key"),
        created_at=moment(item["created_at"]),
        updated_at=moment(item["updated_at"]),
        name_en=item.get("name_en"),
        description_en=item.get("description_en"),
        list_price=None if list_price is None else money(list_price),
        category_name=names["name"] if names else None,
        category_name_en=names["name_en"] if names else None,
    )


def _cleared(values: dict[str, Any]) -> set[str]:
    """The attributes a change removes: an empty English text, a list price of 0."""
    gone = {name for name in ("name_en", "description_en") if values.get(name) == ""}
    if "list_price" in values and values["list_price"] == NO_LIST_PRICE:
        gone.add("list_price")
    return gone


def on_sale_keys(item: dict[str, Any]) -> dict[str, Any]:
    """The index keys of a product on sale (deleted ones leave both indexes)."""
    by_name = f"{item['name']}#{sortable_id(int(item['id']))}"
    return {
        "GSI1PK": CATALOG,
        "GSI1SK": by_name,
        "GSI2PK": category_partition(item["category"]),
        "GSI2SK": by_name,
    }


def _refused() -> Exception:
    return RetryableConflict("the product changed meanwhile")


class DynamoProductRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx
        # Stock this unit of work adjusts: each product's item as read, and the delta so far.
        self._adjusted: dict[int, tuple[dict[str, Any] | None, int]] = {}

    async def _on_sale_item(self, product_id: int) -> dict[str, Any] | None:
        item = await self._tx.get(product_key(product_id))
        return item if item is not None and item["active"] else None

    async def _products(self, items: list[dict[str, Any]]) -> list[Product]:
        """Products with their categories' names (one BatchGetItem of the categories)."""
        found = await self._tx.get_many(
            category_key(slug) for slug in {i["category"] for i in items}
        )
        return [_product(item, found.get(category_key(item["category"]))) for item in items]

    async def get(self, product_id: int) -> Product | None:
        item = await self._on_sale_item(product_id)
        return (await self._products([item]))[0] if item else None

    async def get_many(
        self, product_ids: Collection[int], *, lock: bool = False
    ) -> dict[int, Product]:
        # No locks in DynamoDB: what `lock` promises is kept by the conditions the writes carry
        # (stock >= n on every decrement, the count read on a staff edit).
        items = await self._tx.get_many(product_key(pid) for pid in sorted(product_ids))
        products = await self._products([item for item in items.values() if item["active"]])
        return {product.id: product for product in products}

    async def _catalogue(self, category: str | None) -> list[Product]:
        """Products on sale, by name: one Query of an index partition, never a scan."""
        if category:
            items = await self._tx.query(category_partition(category), index="GSI2")
        else:
            items = await self._tx.query(CATALOG, index="GSI1")
        return await self._products(items)

    async def _matching(self, query: ProductQuery) -> list[Product]:
        found = await self._catalogue(query.category)
        if query.search:
            text = query.search.lower()
            found = [
                p
                for p in found
                if any(text in field.lower() for field in (p.name, p.description, p.name_en or ""))
            ]
        return found

    async def search(self, query: ProductQuery) -> list[Product]:
        found = sorted(await self._matching(query), key=_SORTS[query.sort])
        end = None if query.limit is None else query.offset + query.limit
        return found[query.offset : end]

    async def count(self, query: ProductQuery) -> int:
        return len(await self._matching(query))

    async def low_stock(self, threshold: int) -> list[Product]:
        low = [p for p in await self._catalogue(None) if p.stock_quantity <= threshold]
        return sorted(low, key=lambda p: (p.stock_quantity, p.id))[:50]

    async def add(self, new: NewProduct) -> Product:
        product_id = await self._tx.next_ids("product")
        now = timestamp(datetime.now(UTC))
        key = product_key(product_id)
        item = {
            "PK": key[0],
            "SK": key[1],
            "id": product_id,
            "name": new.name,
            "price": new.price,
            "description": new.description,
            "category": new.category,
            "stock": new.stock_quantity,
            "name_en": new.name_en,
            "description_en": new.description_en,
            "list_price": new.list_price,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        item.update(on_sale_keys(item))
        self._tx.put(item, condition="attribute_not_exists(#PK)", refused=_refused)
        return (await self._products([{k: v for k, v in item.items() if v is not None}]))[0]

    async def update(self, product_id: int, changes: ProductChanges) -> Product | None:
        before = await self._on_sale_item(product_id)
        if before is None:
            return None
        given = {_FIELDS[name]: value for name, value in changes.given().items()}
        gone = _cleared(given)
        given = {name: value for name, value in given.items() if name not in gone}
        after = {**before, **given, "updated_at": timestamp(datetime.now(UTC))}
        after = {name: value for name, value in after.items() if name not in gone}
        after.update(on_sale_keys(after))
        changed = {name: after[name] for name in (*given, "updated_at", *_ON_SALE_INDEXES)}
        condition, values = "#active = :true", {":true": True}
        if "stock" in given:  # the count it replaces is the one read (a restock's delta is exact)
            condition += " AND #stock = :read"
            values[":read"] = before["stock"]
        self._tx.update(
            product_key(product_id),
            set_=changed,
            remove=sorted(gone),
            condition=condition,
            values=values,
            after=after,
            refused=_refused,
        )
        return (await self._products([after]))[0]

    async def delete(self, product_id: int) -> bool:
        before = await self._on_sale_item(product_id)
        if before is None:
            return False
        now = timestamp(datetime.now(UTC))
        after = {k: v for k, v in before.items() if k not in _ON_SALE_INDEXES}
        after.update(active=False, updated_at=now)
        self._tx.update(
            product_key(product_id),
            set_={"active": False, "updated_at": now},
            remove=_ON_SALE_INDEXES,
            condition="#active = :true",
            values={":true": True},
            after=after,
            refused=_refused,
        )
        return True

    async def _adjust(self, product_id: int, delta: int) -> None:
        """Add `delta` to the stock at commit, never below zero. A product adjusted again in this
        unit of work (the sweeper releasing two reservations of it) is one write of the sum."""
        key = product_key(product_id)
        if product_id in self._adjusted:
            before, earlier = self._adjusted[product_id]
            self._tx.unwrite(key, before)
            delta += earlier
        else:
            before = await self._tx.get(key)
        if delta < 0 and (before is None or int(before["stock"]) < -delta):
            raise _refused()  # fewer than the read said: the condition would refuse it anyway
        self._adjusted[product_id] = (before, delta)
        after = {**before, "stock": int(before["stock"]) + delta} if before else None
        self._tx.update(
            key,
            expression="#stock = #stock + :delta",
            condition="#stock >= :n" if delta < 0 else "attribute_exists(#PK)",
            values={":delta": delta, **({":n": -delta} if delta < 0 else {})},
            after=after or {},
            refused=_refused,
        )

    async def take_locked_stock(self, taken: Mapping[int, int]) -> None:
        # The decrement's own condition is the guard: a count that another process lowered
        # meanwhile refuses the whole transaction, and nothing is taken.
        for product_id in sorted(taken):
            await self._adjust(product_id, -taken[product_id])

    async def return_stock(self, product_id: int, quantity: int) -> None:
        await self._adjust(product_id, quantity)

    async def image_keys(self) -> set[str]:
        """Every product's image, deleted ones included: a Scan (backup and media clean-up, never
        a request)."""
        keys: set[str] = set()
        request: dict[str, Any] = {
            "TableName": self._tx.table,
            "FilterExpression": "begins_with(#PK, :product) AND attribute_exists(#image_key)",
            "ProjectionExpression": "#image_key",
            "ExpressionAttributeNames": {"#PK": "PK", "#image_key": "image_key"},
            "ExpressionAttributeValues": {":product": {"S": "PRODUCT#"}},
        }
        while True:
            answer = await self._tx.client.call("scan", **request)
            keys.update(item["image_key"]["S"] for item in answer["Items"])
            if "LastEvaluatedKey" not in answer:
                return keys
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
