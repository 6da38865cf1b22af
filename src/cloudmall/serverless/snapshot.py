"""Lambda SnapStart: what a function does before its initialized process is snapshotted and
after a new container is restored from that snapshot.

With SnapStart the import and the init run once, when a version is published; every cold start
then resumes the snapshot. Two things in the snapshot must not be shared by the containers
restored from it: open sockets (dead after the restore: the pooled database connections are
closed before the snapshot and reopen on first use) and per-process uniqueness (the request-id
prefix is drawn again after each restore). Random numbers that matter come from `secrets`
(os.urandom), which the restore does not repeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from snapshot_restore_py import register_after_restore, register_before_snapshot

from cloudmall.services.shop import Shop
from cloudmall.web.middleware import REQUEST_IDS


def before_snapshot(shop: Shop, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """The hook closing the shop's pooled connections on the function's event loop."""

    def hook() -> None:
        loop.run_until_complete(shop.release_connections())

    return hook


def after_restore() -> None:
    REQUEST_IDS.renew()


def register_hooks(shop: Shop, loop: asyncio.AbstractEventLoop) -> None:
    """Register the hooks with the runtime (a no-op where SnapStart is off: nothing calls them)."""
    register_before_snapshot(before_snapshot(shop, loop))
    register_after_restore(after_restore)
