"""`tracer = CallTracer()`: one log record and two metrics per entrypoint call, and the request id
of the call in every log line its worker writes.

A DependencyProvider (Nameko's tracer extension has the same shape) that every service declares.
Per worker, in `worker_setup`: the request id from the worker's context data
(common/request_ids.py; a fresh one when the call came without, e.g. from `nameko shell`, so that
what it calls shares one) and the entrypoint's name go into contextvars that
`RequestIdFilter` stamps on log records. In `worker_result`: one record on the `common.calls`
logger with the outcome and duration, and `nameko_entrypoint_calls_total` /
`nameko_entrypoint_duration_seconds` (common/metrics.py).

Outcomes: `ok`; `expected` for a declared error (a `ServiceError`, or one of the entrypoint's
`expected_exceptions`): one line without traceback, at INFO for a 4xx and WARNING for a 5xx
(a downstream failure); `error` for anything else: ERROR with the traceback. Nameko's own
"error handling worker" lines (a WARNING *with* a traceback for expected errors) are dropped by
`WorkerErrorFilter`, as this record replaces them.

Cost per call, measured on the broker (README, "Operating it"): a few microseconds with the
record below the logger's level (the broker's default); writing the line costs more.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

from nameko.extensions import DependencyProvider

from common import metrics, request_ids
from common.errors import ServiceError

log = logging.getLogger("common.calls")

OK, EXPECTED, ERROR = "ok", "expected", "error"
_STARTED = "_tracer_started"


def classify(exc: BaseException | None, expected: Any) -> tuple[str, int]:
    """The outcome of a call that raised `exc` (None: it returned), and its log level."""
    if exc is None:
        return OK, logging.INFO
    if isinstance(exc, ServiceError) or (expected and isinstance(exc, expected)):
        status = getattr(exc, "status", 400)
        return EXPECTED, logging.WARNING if status >= 500 else logging.INFO
    return ERROR, logging.ERROR


class WorkerErrorFilter(logging.Filter):
    """Drops Nameko's "error handling worker" records: the tracer's record replaces them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(
            ("(expected) error handling worker", "error handling worker")
        )


_worker_error_filter = WorkerErrorFilter()


class CallTracer(DependencyProvider):
    def setup(self) -> None:
        self.service = self.container.service_name
        nameko_log = logging.getLogger("nameko.containers")
        if _worker_error_filter not in nameko_log.filters:
            nameko_log.addFilter(_worker_error_filter)

    def worker_setup(self, worker_ctx: Any) -> None:
        data = worker_ctx.data
        request_id = data.get(request_ids.REQUEST_ID_CONTEXT_KEY)
        if request_id is None:
            request_id = data[request_ids.REQUEST_ID_CONTEXT_KEY] = request_ids.new_id()
        request_ids.current.set(request_id)
        request_ids.current_entrypoint.set(worker_ctx.entrypoint.method_name)
        setattr(worker_ctx, _STARTED, perf_counter())

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        duration = perf_counter() - getattr(worker_ctx, _STARTED, perf_counter())
        entrypoint = worker_ctx.entrypoint
        exc = exc_info[1] if exc_info else None
        outcome, level = classify(exc, entrypoint.expected_exceptions)
        metrics.CALL_STATS.observe((self.service, entrypoint.method_name, outcome), duration)
        if log.isEnabledFor(level):
            self._log(level, entrypoint.method_name, outcome, duration, exc_info)

    def worker_teardown(self, worker_ctx: Any) -> None:
        request_ids.current.set(request_ids.NONE)
        request_ids.current_entrypoint.set(request_ids.NONE)

    def _log(self, level: int, method: str, outcome: str, duration: float, exc_info: Any) -> None:
        extra = {"outcome": outcome, "duration_ms": round(duration * 1000, 3)}
        if outcome == ERROR:
            log.log(
                level,
                "%s.%s %s in %.1f ms",
                self.service,
                method,
                outcome,
                duration * 1000,
                exc_info=exc_info,
                extra=extra,
            )
            return
        exc = exc_info[1] if exc_info else None
        detail = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        log.log(
            level,
            "%s.%s %s in %.1f ms%s",
            self.service,
            method,
            outcome,
            duration * 1000,
            detail,
            extra=extra,
        )
