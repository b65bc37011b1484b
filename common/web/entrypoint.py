"""`@http(method, path)`: Nameko's HTTP entrypoint on the system's own server.

Nameko's `HttpRequestHandler` is kept (werkzeug routing rules, path variables as keyword
arguments, one worker per request, `response_from_result`); what changes is the server it
registers with (`common.web.server.HttpServer`: the request arrives read whole), its errors,
which are JSON envelopes with the status from the one table in `common.web.errors`, and when the
method's signature is checked: once at setup, not on every request (inspect's signature machinery
was a tenth of the CPU of a `/ping`). Expected failures (`ServiceError`, a 4xx or a downstream
5xx with a message written for clients) are logged by Nameko as one line, not a traceback.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from common.envelope import error_response
from common.errors import ServiceError
from common.tracing import CallTracer
from common.web.errors import status_and_message
from common.web.server import HttpServer


class HttpEntrypoint(HttpRequestHandler):
    server = HttpServer()

    def __init__(self, method: str, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("expected_exceptions", ServiceError)
        super().__init__(method, url, **kwargs)

    def setup(self) -> None:
        super().setup()
        # A worker gets the request and the rule's path variables: a method that cannot take
        # them stops the service at start (IncorrectSignature) instead of failing each request.
        rule = self.get_url_rule()
        Map([rule])  # binding the rule works out its arguments
        self.check_signature((None,), dict.fromkeys(rule.arguments))
        self._traced = any(isinstance(d, CallTracer) for d in self.container.dependencies)

    def handle_request(self, request: Request) -> Response:
        try:
            context_data = self.server.context_data_from_headers(request)
            event = Event()
            self.container.spawn_worker(
                self,
                (request,),
                request.path_values,
                context_data=context_data,
                handle_result=partial(self.handle_result, event),
            )
        except Exception as exc:
            return self.response_from_exception(exc)
        try:
            return self.response_from_result(event.wait())
        except Exception as exc:
            # Raised by the worker: the service's tracer logged it already.
            return self.response_from_exception(exc, logged=self._traced)

    def response_from_exception(self, exc: Exception, logged: bool = False) -> Response:
        status, message = status_and_message(exc, logged)
        headers = exc.headers() if isinstance(exc, ServiceError) else None
        return error_response(status, message, headers)


http = HttpEntrypoint.decorator
