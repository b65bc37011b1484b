"""The one table from an exception to the HTTP status and message a client sees.

Expected failures carry their own status (`common.errors.ServiceError`); everything else is a 500
with a fixed message. The exception's text never reaches a client unless it is a ServiceError,
whose messages are written for clients.
"""

from __future__ import annotations

import logging

from nameko.exceptions import RemoteError, UnknownService
from werkzeug.exceptions import HTTPException

from common.errors import ServiceError
from common.queue_consumer import AMQP_ERRORS

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal error"


def status_and_message(exc: BaseException, logged: bool = False) -> tuple[int, str]:
    """The status and message for `exc`. What is not a declared error is logged, unless
    `logged`: a worker's exception is logged once, by the tracer (common/tracing.py)."""
    if isinstance(exc, ServiceError):
        return exc.status, exc.message
    if isinstance(exc, UnknownService):
        return 503, f"{exc.args[0] if exc.args else 'a'} service is not running"
    if isinstance(exc, AMQP_ERRORS):
        # RabbitMQ went away under a call that does not translate it (it answers again soon).
        if not logged:
            log.warning("RabbitMQ unavailable: %s", exc)
        return 503, "RabbitMQ is unavailable"
    if isinstance(exc, HTTPException):
        return exc.code or 500, (exc.description or exc.name).rstrip(".")
    if isinstance(exc, RemoteError):
        # An undeclared exception inside another service: its text may hold internals.
        if not logged:
            log.error("downstream service failed: %s", exc)
        return 502, "a downstream service failed"
    if not logged:
        log.exception("unexpected error", exc_info=exc)
    return 500, INTERNAL_ERROR
