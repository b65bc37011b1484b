"""What the server reports after each request, for access logs, metrics and request ids.

Observers are plain callables registered on the server (`HttpServer.observe`); with none, a
request costs nothing here. The access log is one: on when the `common.web.access` logger is
enabled for INFO when the server starts (the broker turns it off by default: a line per request
costs more CPU than the request).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.wrappers import Request

access_log = logging.getLogger("common.web.access")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    method: str  # "" when the request was refused before its method was read
    path: str  # the request target as received: path and query
    status: int
    duration: float  # seconds from the request's first byte to its response sent
    request: Request | None  # None when the request was refused before its headers were whole
    peer: str


Observer = Callable[[RequestRecord], None]


def log_access(record: RequestRecord) -> None:
    access_log.info(
        '%s "%s %s" %d %.1f ms',
        record.peer,
        record.method or "-",
        record.path or "-",
        record.status,
        record.duration * 1000,
    )
