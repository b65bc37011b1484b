"""One request id per request, from the HTTP door to every log line of every service.

The HTTP core (`common.web.server`) takes a client's `X-Request-ID` when it is short and
printable (`accepted`), or makes one (`new_request_id`), returns it on every answer and puts it in
the Nameko context data of the worker under `REQUEST_ID_CONTEXT_KEY`. Nameko carries context data
on RPC calls and events by itself (its `HeaderEncoder` sends each key as an AMQP header
`nameko.<key>`, its entrypoints decode them into the next worker's context), so every worker down
the line sees the same id.

`current` holds the id of the worker running in this green thread (set by
`common.tracing.CallTracer.worker_setup`; each greenlet has its own contextvars context), and
`RequestIdFilter` stamps it on every log record, so every log line prints it ("-" outside a
worker).
"""

from __future__ import annotations

import logging
import os
import re
from contextvars import ContextVar

HEADER = "X-Request-ID"
ENVIRON_KEY = "HTTP_X_REQUEST_ID"
REQUEST_ID_CONTEXT_KEY = "request_id"
MAX_LENGTH = 128
NONE = "-"

# Visible ASCII only: no spaces, no control characters, nothing a log line or a header could
# be split or forged with.
_VALID = re.compile(rf"[!-~]{{1,{MAX_LENGTH}}}")

current: ContextVar[str] = ContextVar("request_id", default=NONE)
current_entrypoint: ContextVar[str] = ContextVar("entrypoint", default=NONE)


def current_request_id() -> str | None:
    """The id of the worker running in this green thread, None outside a worker."""
    value = current.get()
    return None if value == NONE else value


def new_request_id() -> str:
    """32 random hex digits (as a UUID4 without dashes, a tenth of the cost of uuid4())."""
    return os.urandom(16).hex()


def accepted(value: str | None) -> str | None:
    """The client's id if it is acceptable (1-128 visible ASCII characters), else None."""
    if value and _VALID.fullmatch(value):
        return value
    return None


def from_header(value: str | None) -> str:
    """The id a request carries on: the client's if acceptable, a fresh one otherwise."""
    return accepted(value) or new_request_id()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` and `entrypoint` to every record (unless the record brings its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current.get()
        if not hasattr(record, "entrypoint"):
            record.entrypoint = current_entrypoint.get()
        return True
