"""`@http(method, path)`: Nameko's HTTP entrypoint on the system's own server.

Nameko's `HttpRequestHandler` is kept as it is (werkzeug routing rules, path variables as keyword
arguments, one worker per request, `response_from_result`); what changes is the server it
registers with (`common.web.server.HttpServer`: the request arrives read whole) and its errors,
which are JSON envelopes with the status from the one table in `common.web.errors`. Expected
failures (`ServiceError`, a 4xx or a downstream 5xx with a message written for clients) are
logged by Nameko as one line, not a traceback.
"""

from __future__ import annotations

from typing import Any

from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from common.envelope import error_response
from common.errors import ServiceError
from common.web.errors import status_and_message
from common.web.server import HttpServer


class HttpEntrypoint(HttpRequestHandler):
    server = HttpServer()

    def __init__(self, method: str, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("expected_exceptions", ServiceError)
        super().__init__(method, url, **kwargs)

    def response_from_exception(self, exc: Exception) -> Response:
        status, message = status_and_message(exc)
        return error_response(status, message)


http = HttpEntrypoint.decorator
