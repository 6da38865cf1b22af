"""OpenTelemetry tracing for this process: one provider, its exporter, the instrumented libraries.

Loaded only when `CLOUDMALL_TRACING` is not `off` (bootstrap.build_tracing): with tracing off no
OpenTelemetry module is imported and no library is patched. Started once per process, in the
process that serves (each `cloudmall serve` worker is spawned, not forked, and starts its own, so
no exporter thread is inherited across a fork); spans are flushed when the app stops and when a
function's invocation ends.

What draws spans: the ASGI app (a server span per request, named by route template, continuing
a caller's W3C `traceparent`), each SQLAlchemy engine (a span per statement), Redis, httpx
(which also sends `traceparent` on), botocore (S3, DynamoDB, Secrets Manager), and the shop's
own `Tracer` port. Log records carry the current trace and span ids. (FastAPI itself imports
OpenTelemetry's API, for hooks of its own that the app turns off.)
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context, metrics, trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.logging import LoggingInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudmall.services.ports import SpanKind as ShopSpanKind
from cloudmall.services.ports import SpanValue
from cloudmall.services.trace_context import REQUEST_ID

#: W3C trace context alone, whatever OTEL_PROPAGATORS says: what an event carries is its
#: `traceparent` (the header's name and format).
_W3C = TraceContextTextMapPropagator()
TRACEPARENT = "traceparent"
#: The semantic conventions' attribute for the route template.
HTTP_ROUTE = "http.route"
#: Paths polled by load balancers and scrapers: a trace each would drown the requests.
UNTRACED_PATHS = "/healthz,/readyz,/metrics"


def _exporter(mode: str) -> SpanExporter:
    if mode == "console":
        return ConsoleSpanExporter()
    if mode == "otlp":
        # Imported here: protobuf and requests load only where spans leave over OTLP. The
        # exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) itself.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ValueError(f"unsupported CLOUDMALL_TRACING {mode!r}: use off, console or otlp")


class NoLoneClientSpans(Sampler):
    """ParentBased(TraceIdRatio), except that a client span with no parent (a SQL statement or
    a Redis command of a background loop: the outbox's mail reader polling, the catalogue
    watcher) is dropped: each would be a trace of one span, every few seconds, telling nothing."""

    def __init__(self, ratio: float) -> None:
        self._sampler = ParentBased(TraceIdRatioBased(ratio))

    def should_sample(
        self,
        parent_context: context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[trace.Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind is SpanKind.CLIENT and not parent.is_valid:
            return SamplingResult(Decision.DROP)
        return self._sampler.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        inner = self._sampler.get_description()  # type: ignore[no-untyped-call]
        return f"NoLoneClientSpans{{{inner}}}"


#: The port's span kinds as OpenTelemetry's.
_KINDS = {ShopSpanKind.INTERNAL: SpanKind.INTERNAL, ShopSpanKind.CONSUMER: SpanKind.CONSUMER}


class ShopTracer:
    """The shop's `Tracer` port on OpenTelemetry."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def current(self) -> object:
        return trace.get_current_span().get_span_context()

    def traceparent(self) -> str | None:
        carrier: dict[str, str] = {}
        _W3C.inject(carrier)  # (nothing for no span, or an invalid one)
        return carrier.get(TRACEPARENT)

    def continued(self, traceparent: str | None) -> object:
        if not traceparent:
            return None
        return trace.get_current_span(_W3C.extract({TRACEPARENT: traceparent})).get_span_context()

    @contextmanager
    def span(
        self,
        name: str,
        *,
        attributes: Mapping[str, SpanValue] | None = None,
        parent: object | None = None,
        links: Sequence[object] = (),
        kind: ShopSpanKind = ShopSpanKind.INTERNAL,
    ) -> Iterator[None]:
        # A handle that is no span (the request was not traced) makes a span with no parent.
        under = (
            trace.set_span_in_context(trace.NonRecordingSpan(parent))
            if isinstance(parent, trace.SpanContext)
            else None
        )
        valid = [
            trace.Link(link)
            for link in links
            if isinstance(link, trace.SpanContext) and link.is_valid
        ]
        with self._tracer.start_as_current_span(
            name, context=under, kind=_KINDS[kind], attributes=attributes, links=valid
        ):
            yield


def _method_alone(scope: Scope) -> tuple[str, dict[str, str]]:
    """The server span's name while the route is not known yet: the method (low cardinality,
    as the HTTP conventions want; never the raw path)."""
    return scope.get("method", "HTTP"), {}


class RouteOnSpan:
    """Names the request's server span by its route template once the app has routed it, and
    puts the request id (set by the request context middleware, outside) on it.

    The FastAPI instrumentation names the span before the request runs, by matching the path
    against every route a second time: that matching was half of tracing's cost per request.
    The router leaves the route it chose in the scope; the catalogue's fast path leaves its own.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        if scope["type"] != "http" or not span.is_recording():
            await self.app(scope, receive, send)
            return
        if request_id := scope.get("state", {}).get("request_id"):
            span.set_attribute(REQUEST_ID, request_id)

        async def send_naming_the_span(message: Message) -> None:
            # Named when the answer starts: the span ends with the answer's last byte.
            if message["type"] == "http.response.start":
                route = scope.get("cloudmall.route") or getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{scope['method']} {route}")
                    span.set_attribute(HTTP_ROUTE, route)
            await send(message)

        await self.app(scope, receive, send_naming_the_span)


class Tracing:
    """This process's tracer provider and what it instruments."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = ShopTracer(provider.get_tracer("cloudmall"))
        # The SQLAlchemy instrumentation counts pool connections on a meter: with no meter
        # provider set, OpenTelemetry's no-op one.
        self._connections = metrics.get_meter("cloudmall").create_up_down_counter(
            "db.client.connections.usage", unit="connections"
        )

    def instrument_app(self, app: Any) -> None:
        """A server span per request (named by route template, with the request id) around a
        Starlette app; call before it starts, just before adding the middleware that sets the
        request id (so that the span sees it)."""
        app.add_middleware(RouteOnSpan)
        app.add_middleware(
            OpenTelemetryMiddleware,
            tracer_provider=self.provider,
            excluded_urls=UNTRACED_PATHS,
            default_span_details=_method_alone,
            # A span per ASGI message would triple the spans and tell nothing.
            exclude_spans=["receive", "send"],
        )

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """A span per SQL statement run by `engine`."""
        EngineTracer(  # type: ignore[no-untyped-call]  # (the package has no annotations)
            self.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
            engine.sync_engine,
            self._connections,
        )

    def flush(self) -> None:
        """Export the spans ended so far (end of a function's invocation, the app stopping)."""
        self.provider.force_flush()


_started: Tracing | None = None
_lock = threading.Lock()


def start_tracing(*, mode: str, service_name: str, sample_ratio: float) -> Tracing:
    """This process's tracing, started by the first call (later calls return the same): the
    provider becomes the global one, and the libraries every tier uses are instrumented."""
    global _started
    with _lock:
        if _started is None:
            provider = TracerProvider(
                resource=Resource.create({SERVICE_NAME: service_name}),
                sampler=NoLoneClientSpans(sample_ratio),
            )
            provider.add_span_processor(BatchSpanProcessor(_exporter(mode)))
            trace.set_tracer_provider(provider)
            RedisInstrumentor().instrument(tracer_provider=provider)
            if importlib.util.find_spec("httpx"):  # the services' calls to each other (#19)
                HTTPXClientInstrumentor().instrument(tracer_provider=provider)
            BotocoreInstrumentor().instrument(  # type: ignore[no-untyped-call]
                tracer_provider=provider
            )
            LoggingInstrumentor().instrument(tracer_provider=provider, inject_trace_context=True)
            _started = Tracing(provider)
        return _started
