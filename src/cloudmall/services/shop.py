"""The shop as its entrypoints see it: one `handle(command)` for every use case."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

from cloudmall.services.catalog_cache import CachedBody, CatalogCache
from cloudmall.services.commands import Command
from cloudmall.services.ports import Metrics

R = TypeVar("R")
BoundHandler = Callable[[Any], Awaitable[Any]]


class Background(Protocol):
    """Work a long-lived process keeps doing between requests (the mail reader)."""

    def start(self) -> None: ...
    async def stop(self) -> None: ...


class Shop:
    """Commands in, answers out; built once per process by bootstrap, which bound each handler
    to its tiers and chose, for the runtime, what runs in the background."""

    def __init__(
        self,
        handlers: Mapping[type[Command[Any]], BoundHandler],
        *,
        tiers: Mapping[str, object],
        metrics: Metrics,
        catalog_cache: CatalogCache,
        watch_catalog: bool,
        closers: Sequence[Callable[[], Awaitable[None]]],
        releasers: Sequence[Callable[[], Awaitable[None]]] = (),
        background: Sequence[Background] = (),
    ) -> None:
        self._handlers = handlers
        self.tiers = tiers  # what the handlers were bound to, by name (for tools and tests)
        self.metrics = metrics  # the web layer's request timing goes through the port
        self._catalog_cache = catalog_cache
        self._watch_catalog = watch_catalog
        self._closers = closers
        self._releasers = releasers
        self._background = background

    async def handle(self, command: Command[R]) -> R:
        handler = self._handlers.get(type(command))
        if handler is None:
            raise LookupError(f"{type(command).__name__} is not wired in this entrypoint")
        return cast(R, await handler(command))

    def peek(self, key: str) -> CachedBody | None:
        """A current catalogue answer this process holds, without any I/O (the fast path)."""
        return self._catalog_cache.peek(key)

    def start(self) -> None:
        """Start the background work the runtime keeps (the catalogue's invalidation watcher,
        the mail reader)."""
        if self._watch_catalog:
            self._catalog_cache.start()
        for work in self._background:
            work.start()

    async def stop(self) -> None:
        for work in self._background:
            await work.stop()
        await self._catalog_cache.stop()

    async def release_connections(self) -> None:
        """Close the pooled connections, which reopen on next use: before the process is frozen
        into a snapshot, whose sockets would be dead in every process restored from it."""
        for release in self._releasers:
            await release()

    async def aclose(self) -> None:
        """Let work under way finish, then let go of every tier's connections."""
        for close in self._closers:
            await close()
