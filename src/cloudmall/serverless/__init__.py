"""cloudmall on AWS Lambda: `cloudmall.serverless:handler` (API Gateway HTTP API, payload 2.0).

The handler is built on first access (the Lambda runtime's init phase reads it right after the
import), so that the route data in `cloudmall.serverless.routes` can be imported alone (by the
CDK stack) without building a shop.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "handler":
        from cloudmall.serverless.function import Function
        from cloudmall.serverless.settings import function_settings

        handler = Function(function_settings())
        globals()["handler"] = handler  # built once per container
        return handler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
