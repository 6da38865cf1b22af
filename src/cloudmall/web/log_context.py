"""One log line format for the server's loggers: each line names the request it was written for
and, when tracing is on, the trace and span it belongs to (log correlation)."""

from __future__ import annotations

import logging

from cloudmall.services.request_context import current_request_id

LOG_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s trace_id=%(trace_id)s "
    "span_id=%(span_id)s %(message)s"
)
#: OpenTelemetry's logging instrumentation writes this for "no span".
_NO_ID = "0"


class RequestContextFilter(logging.Filter):
    """Fills a record's request_id, trace_id and span_id ("-" for none). The trace ids are those
    OpenTelemetry's logging instrumentation puts on every record when tracing is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get() or "-"
        trace_id = getattr(record, "otelTraceID", _NO_ID)
        span_id = getattr(record, "otelSpanID", _NO_ID)
        record.trace_id = "-" if trace_id == _NO_ID else trace_id
        record.span_id = "-" if span_id == _NO_ID else span_id
        return True
