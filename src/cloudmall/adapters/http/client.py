"""One resilient HTTP client per called service: short timeouts, retries of idempotent calls
with backoff, a circuit breaker, and the called service's errors raised again here.

Every internal call is idempotent by an id the caller chose and sends in the body (a
reservation id, an order id), so a retry repeats the same request and changes nothing twice.
What the called service answers with an error body is raised as the same CloudmallError class
(domain.error_wire); an unreachable or slow service, an open breaker, or a 502/503/504 from
it becomes DependencyUnavailable (503 with Retry-After to the customer).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import httpx

from cloudmall.adapters.http.breaker import BreakerState, CircuitBreaker
from cloudmall.domain.error_wire import from_wire
from cloudmall.domain.errors import DependencyUnavailable
from cloudmall.services.request_context import current_request_id

log = logging.getLogger(__name__)

#: The header carrying the shared secret of internal calls (web.routers.internal_auth checks it).
INTERNAL_HEADER = "X-Cloudmall-Internal"
#: Connect quickly or not at all; the whole call, a couple of seconds at most.
TIMEOUT = httpx.Timeout(2.0, connect=0.5)
#: Answers that say the service (or the proxy before it) could not serve now: worth a retry.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


class ServiceClient:
    """Calls one service's internal routes (`/internal/v1/...`)."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        secret: str,
        attempts: int = 3,
        backoff: float = 0.05,
        breaker: CircuitBreaker | None = None,
        timeout: httpx.Timeout = TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("at least one attempt")
        self.service = service
        self.breaker = breaker or CircuitBreaker()
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={INTERNAL_HEADER: secret},
        )

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST `body` as JSON to an idempotent internal route; its JSON answer. Retries an
        unavailable service (same body) with exponential backoff and jitter."""
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._once(path, body)
            except _Unavailable as exc:
                if attempt == self._attempts or self.breaker.state is BreakerState.OPEN:
                    raise DependencyUnavailable(
                        f"The {self.service} service is unavailable; try again shortly"
                    ) from exc.__cause__
                await self._sleep(self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _once(self, path: str, body: dict[str, Any]) -> Any:
        if not self.breaker.allow():
            raise _Unavailable from None
        settled = False
        try:
            # The caller's request id goes along: one order's log lines and events in every
            # service it touches carry the same id (the trace context travels with tracing on).
            request_id = current_request_id.get()
            headers = {"X-Request-ID": request_id} if request_id else None
            response = await self._http.post(path, json=body, headers=headers)
            if response.status_code in UNAVAILABLE_STATUSES:
                raise _Unavailable from None
            self.breaker.succeeded()
            settled = True
        except (httpx.TransportError, _Unavailable) as exc:
            self.breaker.failed()
            settled = True
            raise _Unavailable from exc
        finally:
            if not settled:
                self.breaker.abandoned()
        return _answer(response)


class _Unavailable(Exception):
    """One attempt found the service unreachable, slow, unavailable, or its breaker open."""


def _answer(response: httpx.Response) -> Any:
    """The JSON of a success; the called service's error raised as its own class."""
    data = response.json() if response.content else None
    if response.is_success:
        return data
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict) or "attributes" not in error:
        # Not the called route's own error (those carry their attributes): the secret refused
        # (the services disagree on it: a rotation half done) or no such route. Nothing the
        # customer did: the service is as good as unavailable.
        log.error("an internal call answered %s: %s", response.status_code, response.text[:200])
        raise DependencyUnavailable("A part of the shop is unavailable; try again shortly")
    raise from_wire(error)
