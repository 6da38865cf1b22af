"""The single-table design: every item's keys, the three indexes, and the table itself.

docs/dynamodb.md lists the access patterns each key and index serves.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from cloudmall.adapters.dynamodb.client import DynamoClient, error_code
from cloudmall.domain.money import CENT

#: Global secondary indexes, each on a generic (PK, SK) pair that items fill as they need.
INDEXES = ("GSI1", "GSI2", "GSI3")
#: Partition keys of the collections the indexes hold.
CATALOG = "CATALOG"  # GSI1: products on sale, by name
USERS = "USERS"  # GSI1: every account, by id
ORDERS = "ORDERS"  # GSI3: every order, newest first
OUTBOX = "OUTBOX"  # base table: outbox records, by position
MAILS = "MAILS"  # GSI1: mail delivery records, by when they last changed
CATEGORIES = "CATEGORIES"  # GSI1: the staff's categories, by slug
RESERVATIONS = "RESERVATIONS#"  # GSI2: stock reservations reserved or sold, by expiry
#: Sort-key prefixes of the items in an account's partition (`USER#<id>`) besides the user.
SESSION = "REFRESH#"
CONSENT = "CONSENT#"
ADDRESS = "ADDRESS#"
#: The table's time-to-live attribute (epoch seconds): items past it are deleted by DynamoDB.
TTL = "expires"

Key = tuple[str, str]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def product_key(product_id: int) -> Key:
    return (f"PRODUCT#{product_id}", "PRODUCT")


def user_key(user_id: int) -> Key:
    return (f"USER#{user_id}", "USER")


def email_key(email: str) -> Key:
    return (f"EMAIL#{email}", "EMAIL")


def order_key(order_id: int) -> Key:
    return (f"ORDER#{order_id}", "ORDER")


def order_reservation_key(reservation_id: str) -> Key:
    """A lookup item: the order holding a stock reservation (one at most)."""
    return (f"ORDERRES#{reservation_id}", "ORDERRES")


def payment_key(order_id: int, payment_id: int) -> Key:
    """A payment lives in its order's partition: one Query lists an order's payments."""
    return (f"ORDER#{order_id}", f"PAYMENT#{payment_id:012d}")


def idempotency_key(user_id: int, scope: str, key: str) -> Key:
    return (f"IDEM#{user_id}#{scope}#{key}", "IDEM")


def refresh_token_key(token_hash: str) -> Key:
    return (f"REFRESH#{token_hash}", "REFRESH")


def family_key(family: str) -> Key:
    """A refresh-token family: who it belongs to, whether it is revoked, how many tokens."""
    return (f"FAMILY#{family}", "FAMILY")


def session_key(user_id: int, expires_at: datetime, token_id: int) -> Key:
    """A refresh token's entry in its account's partition, by expiry: one Query finds the
    account's sessions, and those ended by a time."""
    return (user_key(user_id)[0], f"{SESSION}{timestamp(expires_at)}#{sortable_id(token_id)}")


def consent_key(user_id: int, consent_id: int) -> Key:
    return (user_key(user_id)[0], f"{CONSENT}{sortable_id(consent_id)}")


def epoch_seconds(moment: datetime) -> int:
    """The TTL attribute's value: DynamoDB deletes the item some time after it."""
    return int(moment.timestamp())


def category_key(slug: str) -> Key:
    """A category by its slug (what products refer to), with its names."""
    return (f"CATEGORY#{slug}", "CATEGORY")


def category_id_key(category_id: int) -> Key:
    """A category's id → its slug."""
    return (f"CATEGORYID#{category_id}", "CATEGORYID")


def address_key(user_id: int, address_id: int) -> Key:
    return (user_key(user_id)[0], f"{ADDRESS}{sortable_id(address_id)}")


def mail_key(event_id: str) -> Key:
    return (f"MAIL#{event_id}", "MAIL")


def reservation_key(reservation_id: str) -> Key:
    """A stock reservation, its lines inside (one write however many)."""
    return (f"RESERVATION#{reservation_id}", "RESERVATION")


def reservation_partition(status: str) -> str:
    """The index partition of the reservations with a status (released ones are in none)."""
    return f"{RESERVATIONS}{status}"


def category_partition(category: str) -> str:
    return f"CATEGORY#{category}"


def user_orders_partition(user_id: int) -> str:
    return f"USER#{user_id}#ORDERS"


def status_partition(status: str) -> str:
    return f"ORDERS#{status}"


def sortable_id(number: int) -> str:
    return f"{number:012d}"


def timestamp(moment: datetime) -> str:
    """A fixed-width UTC time: sorts as text in time order, keeps microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def money(value: Any) -> Decimal:
    return Decimal(value).quantize(CENT)


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python values → DynamoDB's typed attributes (None attributes are left out)."""
    return {name: _serializer.serialize(v) for name, v in values.items() if v is not None}


def to_value(value: Any) -> Any:
    return _serializer.serialize(value)


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def key_of(key: Key) -> dict[str, Any]:
    return {"PK": {"S": key[0]}, "SK": {"S": key[1]}}


async def create_table(client: DynamoClient) -> None:
    """Create the table and its indexes if absent (on demand), and wait until it is active.

    On AWS the stack creates it; this is for a local endpoint and `cloudmall migrate`.
    """
    strings = [{"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK")]
    for index in INDEXES:
        strings += [
            {"AttributeName": f"{index}PK", "AttributeType": "S"},
            {"AttributeName": f"{index}SK", "AttributeType": "S"},
        ]
    try:
        await client.call(
            "create_table",
            TableName=client.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=strings,
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index,
                    "KeySchema": [
                        {"AttributeName": f"{index}PK", "KeyType": "HASH"},
                        {"AttributeName": f"{index}SK", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in INDEXES
            ],
        )
    except ClientError as exc:
        if error_code(exc) != "ResourceInUseException":  # it exists already
            raise
    for _ in range(120):
        table = (await client.call("describe_table", TableName=client.table))["Table"]
        if table["TableStatus"] == "ACTIVE":
            await _expire_items(client)
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the DynamoDB table {client.table} did not become active")


async def _expire_items(client: DynamoClient) -> None:
    """Turn on the time to live (TTL): ended sessions' items go without a request paying."""
    answer = await client.call("describe_time_to_live", TableName=client.table)
    if answer["TimeToLiveDescription"].get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    await client.call(
        "update_time_to_live",
        TableName=client.table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL},
    )
