"""The request id of the worker running now, for every log line it writes.

The HTTP core (`common.web.server`) takes a client's `X-Request-ID` or makes one (checked by
common/ids.py), returns it on every answer and puts it in the Nameko context data of the worker
under `REQUEST_ID_CONTEXT_KEY`. Nameko carries context data on RPC calls and events by itself (its
`HeaderEncoder` sends each key as an AMQP header `nameko.<key>`, its entrypoints decode them into
the next worker's context), so every worker down the line sees the same id.

`current` holds the id of the worker running in this green thread (set by
`common.tracing.CallTracer.worker_setup`; each greenlet has its own contextvars context), and
`RequestIdFilter` stamps it on every log record, so every log line prints it ("-" outside a
worker).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from common.ids import REQUEST_ID_CONTEXT_KEY, new_id

__all__ = ["REQUEST_ID_CONTEXT_KEY", "RequestIdFilter", "current", "current_request_id", "new_id"]

NONE = "-"

current: ContextVar[str] = ContextVar("request_id", default=NONE)
current_entrypoint: ContextVar[str] = ContextVar("entrypoint", default=NONE)


def current_request_id() -> str | None:
    """The id of the worker running in this green thread, None outside a worker."""
    value = current.get()
    return None if value == NONE else value


class RequestIdFilter(logging.Filter):
    """Adds `request_id` and `entrypoint` to every record (unless the record brings its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current.get()
        if not hasattr(record, "entrypoint"):
            record.entrypoint = current_entrypoint.get()
        return True
