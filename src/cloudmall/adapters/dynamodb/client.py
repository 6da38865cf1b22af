"""The table's boto3 client, run in a thread pool of its own, with its errors as the ports'.

boto3 is synchronous (aioboto3 is not a dependency): every call runs in `DynamoClient`'s own
threads, so a slow call holds a thread, never the event loop. A boto3 client is thread-safe.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cloudmall.services.ports import DatabaseUnavailable

#: Calls at once per process: each holds one thread and one pooled HTTPS connection.
MAX_CALLS = 32
# Errors after which the table is busy or gone rather than the request wrong.
_UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "ResourceNotFoundException",
}


#: How long one call may take to answer: DynamoDB answers in milliseconds; a local emulator
#: (DynamoDB Local, moto), copying its whole table per transaction, may need `read_timeout=`.
READ_TIMEOUT_SECONDS = 10


@dataclass(frozen=True, slots=True)
class TableAddress:
    """Where the table is: `dynamodb://TABLE?region=…[&endpoint_url=…][&read_timeout=SECONDS]`."""

    table: str
    region: str | None
    endpoint_url: str | None
    read_timeout: int = READ_TIMEOUT_SECONDS

    @classmethod
    def parse(cls, url: str) -> TableAddress:
        parts = urlsplit(url)
        if parts.scheme != "dynamodb" or not parts.netloc:
            raise ValueError("a DynamoDB URL is dynamodb://TABLE?region=…[&endpoint_url=…]")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        timeout = query.get("read_timeout", str(READ_TIMEOUT_SECONDS))
        if not timeout.isdigit() or not 1 <= int(timeout) <= 900:
            raise ValueError("read_timeout in a DynamoDB URL is 1 to 900 seconds")
        return cls(parts.netloc, query.get("region"), query.get("endpoint_url"), int(timeout))


def is_dynamodb(url: str) -> bool:
    return urlsplit(url).scheme == "dynamodb"


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class DynamoClient:
    """One table's client for one process."""

    def __init__(self, address: TableAddress) -> None:
        self.table = address.table
        self._client = boto3.session.Session().client(
            "dynamodb",
            region_name=address.region,
            endpoint_url=address.endpoint_url,
            config=Config(
                connect_timeout=3,
                read_timeout=address.read_timeout,
                retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=MAX_CALLS,
            ),
        )
        self._threads = ThreadPoolExecutor(MAX_CALLS, thread_name_prefix="dynamodb")

    async def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Run one API call (`transact_write_items`, `query`, …) in the client's threads.

        ClientErrors other than throttling and outages come through as they are (the unit of
        work reads a cancelled transaction's reasons); an unreachable table is DatabaseUnavailable.
        """
        method = getattr(self._client, operation)
        loop = asyncio.get_running_loop()
        try:
            answer: dict[str, Any] = await loop.run_in_executor(
                self._threads, functools.partial(method, **kwargs)
            )
        except ClientError as exc:
            if error_code(exc) in _UNAVAILABLE:
                raise DatabaseUnavailable(f"DynamoDB: {error_code(exc)}") from exc
            raise
        except BotoCoreError as exc:  # no connection, a timeout, no credentials
            raise DatabaseUnavailable(f"DynamoDB is unreachable: {exc}"[:200]) from exc
        return answer

    async def aclose(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._client.close()
