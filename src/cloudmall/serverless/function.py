"""The shop as one Lambda function behind API Gateway's HTTP API (payload format 2.0).

Everything that lasts is made once per container, at init: settings, the shop with its engine,
the app, Mangum, and a first round trip to each tier. Each invocation is then one request on the
same event loop (Mangum's), so the engine's pool is reused; a connection that died while the
container was frozen is pinged before use and replaced within the request (adapters.db.engine).
Mangum's lifespan is off: with it on, Mangum starts and stops the app on every invocation.
With SnapStart, that init runs once per published version and containers resume its snapshot
(serverless.snapshot holds the hooks that keep this safe).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mangum import Mangum

from cloudmall.bootstrap import build_tracing
from cloudmall.config import Runtime, Settings
from cloudmall.serverless.routes import ALL, FUNCTIONS, ROUTERS
from cloudmall.serverless.snapshot import register_hooks
from cloudmall.services.commands import CheckTiers
from cloudmall.services.shop import Shop
from cloudmall.web.app import build_web_shop, create_app

log = logging.getLogger(__name__)


class Function:
    """One function's app, built once; call it with (event, context) for each invocation."""

    def __init__(self, settings: Settings) -> None:
        if settings.runtime is not Runtime.FUNCTION:
            raise ValueError("the Lambda handler runs under CLOUDMALL_RUNTIME=function")
        self.settings = settings
        self.shop: Shop = build_web_shop(settings)
        if settings.function == ALL:
            app = create_app(settings, shop=self.shop)
        else:
            app = create_app(
                settings,
                shop=self.shop,
                only_routes=FUNCTIONS[settings.function],
                routers=ROUTERS[settings.function],
            )
        app.state.shop = self.shop  # what the lifespan would do, once, not per invocation
        self.shop.start()
        self._adapter = Mangum(app, lifespan="off")
        # Lambda freezes the container once the answer is out: spans still buffered would wait
        # (or be lost) until the next invocation, so each invocation exports its own.
        self._tracing = build_tracing(settings)
        self._warm_up()
        register_hooks(self.shop, asyncio.get_event_loop())

    def _warm_up(self) -> None:
        """The first connection to each tier, made at init rather than in the first request."""
        tiers = asyncio.get_event_loop().run_until_complete(self.shop.handle(CheckTiers()))
        for tier in tiers:
            if not tier.ok:
                log.warning("init: %s not ready: %s", tier.name, tier.detail)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return self._adapter(event, context)
        finally:
            if self._tracing is not None:
                self._tracing.flush()
