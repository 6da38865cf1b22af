"""One unit of work's view of the table: consistent reads, and writes kept until commit, then
sent as one TransactWriteItems (all or nothing)."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from cloudmall.adapters.dynamodb.client import DynamoClient, error_code
from cloudmall.adapters.dynamodb.table import Key, from_item, key_of, to_item, to_value
from cloudmall.services.ports import RetryableConflict

#: DynamoDB's limit on the items of one TransactWriteItems.
MAX_ITEMS = 100
#: A transaction that met another on one of its items is sent again this often, with
#: exponential backoff and jitter, before the use case's own retries take over.
CONFLICT_ATTEMPTS = 4
CONFLICT_BACKOFF_SECONDS = 0.01

Refusal = Callable[[], Exception]
_NAME = re.compile(r"#(\w+)")


class TransactionTooLarge(Exception):
    """More than MAX_ITEMS writes in one unit of work (a group of orders too big to share one)."""


@dataclass(frozen=True, slots=True)
class _Write:
    operation: dict[str, Any]  # one TransactItems entry
    refused: Refusal  # what its failed condition means to the caller


def _names(*expressions: str | None) -> dict[str, str]:
    """`#name` placeholders for every attribute an expression names (reserved words included)."""
    return {
        f"#{name}": name
        for expression in expressions
        if expression
        for name in _NAME.findall(expression)
    }


def _expression(
    target: dict[str, Any], condition: str | None, values: dict[str, Any], *others: str | None
) -> dict[str, Any]:
    if condition:
        target["ConditionExpression"] = condition
    if names := _names(condition, *others):
        target["ExpressionAttributeNames"] = names
    if values:
        target["ExpressionAttributeValues"] = {name: to_value(v) for name, v in values.items()}
    return target


class DynamoTransaction:
    """Reads see the table as of their call (consistent reads) and this transaction's own writes;
    an item read twice is read once (repeatable reads)."""

    def __init__(self, client: DynamoClient) -> None:
        self.client = client
        self._seen: dict[Key, dict[str, Any] | None] = {}
        self._writes: dict[Key, _Write] = {}
        self.before_commit: list[Callable[[], Any]] = []

    @property
    def table(self) -> str:
        return self.client.table

    @property
    def writes(self) -> int:
        return len(self._writes)

    def writes_to(self, key: Key) -> bool:
        return key in self._writes

    # --- reads --------------------------------------------------------------------------------

    async def get(self, key: Key) -> dict[str, Any] | None:
        if key not in self._seen:
            answer = await self.client.call(
                "get_item", TableName=self.table, Key=key_of(key), ConsistentRead=True
            )
            self._seen[key] = from_item(answer["Item"]) if "Item" in answer else None
        item = self._seen[key]
        return dict(item) if item is not None else None

    async def get_many(self, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
        wanted = list(dict.fromkeys(keys))
        missing = [key for key in wanted if key not in self._seen]
        for start in range(0, len(missing), 100):  # BatchGetItem's limit
            chunk = missing[start : start + 100]
            for key in chunk:
                self._seen[key] = None
            request: dict[str, Any] = {
                self.table: {"Keys": [key_of(key) for key in chunk], "ConsistentRead": True}
            }
            attempt = 0
            while request:
                answer = await self.client.call("batch_get_item", RequestItems=request)
                for raw in answer["Responses"].get(self.table, []):
                    item = from_item(raw)
                    self._seen[(item["PK"], item["SK"])] = item
                request = answer.get("UnprocessedKeys") or {}
                attempt += 1
                if request:
                    await asyncio.sleep(CONFLICT_BACKOFF_SECONDS * 2**attempt)
        return {key: dict(seen) for key in wanted if (seen := self._seen[key]) is not None}

    async def query(
        self,
        partition: str,
        *,
        index: str | None = None,
        prefix: str | None = None,
        since: str | None = None,
        until: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        count: bool = False,
    ) -> list[dict[str, Any]]:
        """Items of one partition in sort-key order (a key condition, never a scan): on the table
        they are consistent reads; an index is eventually consistent (DynamoDB has no other).
        Sort keys begin with `prefix`, or lie from `since` (and up to `until`), both inclusive."""
        pk, sk = (f"{index}PK", f"{index}SK") if index else ("PK", "SK")
        condition = f"#{pk} = :pk"
        values: dict[str, Any] = {":pk": partition}
        if prefix is not None:
            condition += f" AND begins_with(#{sk}, :sk)"
            values[":sk"] = prefix
        elif since is not None and until is not None:
            condition += f" AND #{sk} BETWEEN :sk AND :until"
            values.update({":sk": since, ":until": until})
        elif since is not None:
            condition += f" AND #{sk} >= :sk"
            values[":sk"] = since
        request: dict[str, Any] = _expression(
            {"TableName": self.table, "KeyConditionExpression": condition}, None, values, condition
        )
        request["ScanIndexForward"] = not newest_first
        if index:
            request["IndexName"] = index
        else:
            request["ConsistentRead"] = True
        if count:
            request["Select"] = "COUNT"
        found: list[dict[str, Any]] = []
        while True:
            if limit is not None:
                request["Limit"] = limit - len(found)
            answer = await self.client.call("query", **request)
            if count:
                found.extend({} for _ in range(answer["Count"]))
            else:
                found.extend(from_item(raw) for raw in answer["Items"])
            if "LastEvaluatedKey" not in answer or (limit is not None and len(found) >= limit):
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        if index or count:
            return found
        return self._with_own_writes(found, partition, prefix, since, until)

    def _with_own_writes(
        self,
        found: list[dict[str, Any]],
        partition: str,
        prefix: str | None,
        since: str | None,
        until: str | None,
    ) -> list[dict[str, Any]]:
        """A partition's items as this transaction left them (its writes not yet sent)."""
        items = {(item["PK"], item["SK"]): item for item in found}
        for key in self._writes:
            if (
                key[0] == partition
                and key[1].startswith(prefix or "")
                and (since or "") <= key[1]
                and (until is None or key[1] <= until)
            ):
                items[key] = self._seen[key]  # type: ignore[assignment]
        return [dict(items[key]) for key in sorted(items) if items[key] is not None]

    async def next_ids(self, kind: str, count: int = 1) -> int:
        """The first of `count` new ids of `kind` (an atomic counter, outside the transaction:
        like a SQL sequence, an id taken by a transaction that fails is not used again)."""
        answer = await self.client.call(
            "update_item",
            TableName=self.table,
            Key=key_of(("COUNTER", kind)),
            UpdateExpression="ADD #value :n",
            ExpressionAttributeNames={"#value": "value"},
            ExpressionAttributeValues={":n": {"N": str(count)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["value"]["N"]) - count + 1

    # --- writes (kept until commit) -------------------------------------------------------------

    def _write(
        self, key: Key, operation: dict[str, Any], after: dict[str, Any] | None, refused: Refusal
    ) -> None:
        if key in self._writes:
            # One transaction may touch an item once: a second write of one item (the same new
            # Idempotency-Key twice in a group) is refused like its condition would be.
            raise refused()
        self._writes[key] = _Write(operation, refused)
        self._seen[key] = after

    def unwrite(self, key: Key, seen: dict[str, Any] | None) -> None:
        """Drop this transaction's write of `key` (to write it again, or not at all); reads of
        it see `seen` until it is written again."""
        self._writes.pop(key, None)
        self._seen[key] = seen

    def put(
        self,
        item: dict[str, Any],
        *,
        refused: Refusal,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        again: bool = False,
    ) -> None:
        """Put an item; `again` replaces this transaction's own earlier put of it."""
        if again:
            self._writes.pop((item["PK"], item["SK"]), None)
        body = {"TableName": self.table, "Item": to_item(item)}
        self._write(
            (item["PK"], item["SK"]),
            {"Put": _expression(body, condition, values or {})},
            {k: v for k, v in item.items() if v is not None},
            refused,
        )

    def update(
        self,
        key: Key,
        *,
        after: dict[str, Any],
        refused: Refusal,
        set_: dict[str, Any] | None = None,
        remove: Collection[str] = (),
        expression: str = "",
        condition: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        """SET the `set_` attributes (plus an `expression` of SET clauses), REMOVE `remove`."""
        values = dict(values or {})
        clauses = [f"#{name} = :set_{name}" for name in set_ or {}]
        values.update({f":set_{name}": value for name, value in (set_ or {}).items()})
        if expression:
            clauses.append(expression)
        update = "SET " + ", ".join(clauses)
        if remove:
            update += " REMOVE " + ", ".join(f"#{name}" for name in remove)
        body = {"TableName": self.table, "Key": key_of(key), "UpdateExpression": update}
        self._write(key, {"Update": _expression(body, condition, values, update)}, after, refused)

    def delete(
        self,
        key: Key,
        *,
        refused: Refusal,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        body = {"TableName": self.table, "Key": key_of(key)}
        self._write(key, {"Delete": _expression(body, condition, values or {})}, None, refused)

    # --- commit ---------------------------------------------------------------------------------

    async def commit(self) -> None:
        for prepare in self.before_commit:
            await prepare()
        self.before_commit.clear()
        writes, self._writes = list(self._writes.values()), {}
        if not writes:
            return
        if len(writes) > MAX_ITEMS:
            raise TransactionTooLarge(f"{len(writes)} writes; one transaction takes {MAX_ITEMS}")
        operations = [write.operation for write in writes]
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                # One token per attempt: botocore's own resends of a call whose answer was lost
                # carry it, and DynamoDB applies the transaction once.
                await self.client.call(
                    "transact_write_items",
                    TransactItems=operations,
                    ClientRequestToken=str(uuid.uuid4()),
                )
                return
            except ClientError as exc:
                if not _conflict(exc, writes):
                    raise
            await asyncio.sleep(CONFLICT_BACKOFF_SECONDS * 2**attempt * (1 + random.random()))  # noqa: S311 (jitter)
        raise RetryableConflict("the transaction met others on its items")


def _conflict(exc: ClientError, writes: list[_Write]) -> bool:
    """True if the transaction may go through if sent again; raises what a refused condition
    means; False for anything else."""
    code = error_code(exc)
    if code == "TransactionInProgressException":
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
    for write, reason in zip(writes, reasons, strict=False):
        if reason == "ConditionalCheckFailed":
            raise write.refused() from exc
    if "TransactionConflict" in reasons:
        return True
    raise RetryableConflict(f"DynamoDB cancelled the transaction: {reasons}") from exc


#: Orders one transaction takes together (the order desk's group on DynamoDB): each is one
#: order item, its reservation's lookup item and at most one idempotency record, and the group
#: one outbox record: 3 * 32 + 1 = 97 items. Their stock is the products context's, reserved in
#: a transaction of its own before (tests/unit/test_dynamodb_limits.py).
MAX_ORDERS_PER_TRANSACTION = 32
