"""The object store on S3 (or any S3 endpoint), through boto3 in worker threads.

URL: `s3://BUCKET[/PREFIX]?region=ap-northeast-2&endpoint_url=http://127.0.0.1:9000`. Credentials
come from boto3's usual chain (instance role on AWS, environment variables locally).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cloudmall.services.ports import StorageUnavailable, StoredObject

_MISSING = {"NoSuchKey", "404", "NotFound"}
# One call, retries included, answers within this; an S3 endpoint that accepts connections and
# then says nothing must not hold an upload (and its admin) for minutes.
CALL_DEADLINE_SECONDS = 15.0


class S3ObjectStore:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/") + "/" if parts.path.strip("/") else ""
        self._client: Any = boto3.client(
            "s3",
            region_name=query.get("region"),
            endpoint_url=query.get("endpoint_url"),
            config=Config(
                connect_timeout=3,
                read_timeout=5,
                retries={"max_attempts": 2, "mode": "standard"},
                max_pool_connections=32,
            ),
        )
        self._limiter = anyio.CapacityLimiter(32)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        def call() -> Any:
            return getattr(self._client, method)(Bucket=self.bucket, **kwargs)

        try:
            with anyio.fail_after(CALL_DEADLINE_SECONDS):
                # On timeout the thread is left to botocore's own timeouts; the caller moves on.
                return await anyio.to_thread.run_sync(
                    call, limiter=self._limiter, abandon_on_cancel=True
                )
        except TimeoutError as exc:
            raise StorageUnavailable(
                f"S3 {method}: no answer in {CALL_DEADLINE_SECONDS:g} s"
            ) from exc
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise StorageUnavailable(
                f"S3 {method} failed: {exc.response.get('Error', {}).get('Code')}"
            ) from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 {method} failed: {exc}") from exc

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str,
        storage_class: str | None = None,
    ) -> None:
        extra = {"StorageClass": storage_class} if storage_class else {}
        await self._call(
            "put_object",
            Key=self.prefix + key,
            Body=data,
            ContentType=content_type,
            CacheControl=cache_control,
            **extra,
        )

    async def get(self, key: str) -> StoredObject | None:
        answer = await self._call("get_object", Key=self.prefix + key)
        if answer is None:
            return None
        body = await anyio.to_thread.run_sync(answer["Body"].read, limiter=self._limiter)
        return StoredObject(
            data=body, content_type=answer.get("ContentType", "application/octet-stream")
        )

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Key=self.prefix + key)

    async def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = await self._call("list_objects_v2", Prefix=self.prefix + prefix, **extra)
            if page is None:
                return found
            found.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return sorted(found)
            token = page["NextContinuationToken"]

    async def ping(self) -> None:
        answer = await self._call("head_bucket")
        if answer is None:
            raise StorageUnavailable(f"bucket {self.bucket!r} does not exist")
