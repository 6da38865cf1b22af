"""The migration function: `cloudmall migrate` run by the stack's CDK trigger, once per deploy
(the functions that serve requests never migrate)."""

from __future__ import annotations

import asyncio
from typing import Any

from cloudmall.bootstrap import migrate
from cloudmall.serverless.settings import function_settings


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    asyncio.run(migrate(function_settings()))
    return {"status": "migrated"}
