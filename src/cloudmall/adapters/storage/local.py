"""The object store as a local folder: the embedded default (./var/media)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import anyio

from cloudmall.services.ports import StorageUnavailable, StoredObject

_META_SUFFIX = ".meta.json"


class LocalObjectStore:
    """Objects as files; writes are atomic (temp file + rename), keys cannot leave the root."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        if "\x00" in key:  # no file name holds one (the OS would raise ValueError)
            raise KeyError(key)
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or key.endswith(_META_SUFFIX):
            raise KeyError(key)
        return path

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, payload in (
            (
                path.with_name(path.name + _META_SUFFIX),
                json.dumps({"content_type": content_type}).encode(),
            ),
            (path, data),
        ):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(tmp, target)

    def _get(self, key: str) -> StoredObject | None:
        try:
            path = self._path(key)
        except KeyError:
            return None
        if not path.is_file():
            return None
        meta_path = path.with_name(path.name + _META_SUFFIX)
        content_type = "application/octet-stream"
        if meta_path.is_file():
            content_type = json.loads(meta_path.read_bytes())["content_type"]
        return StoredObject(data=path.read_bytes(), content_type=content_type)

    def _delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        path.with_name(path.name + _META_SUFFIX).unlink(missing_ok=True)

    def _keys(self, prefix: str) -> list[str]:
        if not self.root.exists():
            return []
        found = []
        for path in self.root.rglob("*"):
            if (
                path.is_file()
                and not path.name.endswith(_META_SUFFIX)
                and not path.name.startswith(".tmp-")
            ):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str,
        storage_class: str | None = None,  # a local folder has one storage class
    ) -> None:
        try:
            await anyio.to_thread.run_sync(self._put, key, data, content_type)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write {key}: {exc.strerror}") from exc

    async def get(self, key: str) -> StoredObject | None:
        try:
            return await anyio.to_thread.run_sync(self._get, key)
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key}: {exc.strerror}") from exc

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete, key)

    async def keys(self, prefix: str) -> list[str]:
        return await anyio.to_thread.run_sync(self._keys, prefix)

    async def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot use {self.root}: {exc.strerror}") from exc
        if not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"{self.root} is not writable")
