"""The request a piece of work serves, for the events it records (set by the entrypoint)."""

from __future__ import annotations

from contextvars import ContextVar

#: The id of the HTTP request (X-Request-Id) being served, if any.
current_request_id: ContextVar[str | None] = ContextVar("cloudmall_request_id", default=None)
