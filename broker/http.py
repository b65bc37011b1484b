"""The broker's HTTP layer on Nameko's web server: JSON envelopes everywhere, CORS, a body size
limit enforced before the body is read, and JSON 404/405 answers for unknown routes.

Nameko's `WebServer` and `HttpRequestHandler` are extended at the hooks they offer
(`get_wsgi_app`, `response_from_exception`), not rewritten.
"""

from __future__ import annotations

import logging
from typing import Any

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from broker.cors import CorsPolicy
from broker.errors import status_and_message
from broker.settings import BrokerSettings
from common.envelope import error_response
from common.errors import PayloadTooLarge
from common.settings import settings_for
from common.validation import parse_json_object

log = logging.getLogger(__name__)

def read_json_object(request: Request) -> dict[str, Any]:
    """The body as one JSON object, read whatever the Content-Type (forms are never parsed).

    A body without Content-Length (chunked) is read only up to the limit plus one byte, so an
    oversized one is refused without being held in memory. The limit is MAX_BODY_BYTES, put on
    the request by `BrokerWsgiApp`.
    """
    limit = request.max_content_length
    raw = request.input_stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"body is larger than {limit} bytes")
    return parse_json_object(raw)


class BrokerWsgiApp(WsgiApp):
    def __init__(self, server: WebServer, cors: CorsPolicy, max_body_bytes: int) -> None:
        super().__init__(server)
        self.cors = cors
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        origin = environ.get("HTTP_ORIGIN")
        if environ["REQUEST_METHOD"] == "OPTIONS":
            response = Response(status=204, headers=self.cors.preflight_headers(origin))
        else:
            response = self.dispatch(environ)
            response.headers.extend(self.cors.response_headers(origin))
        return response(environ, start_response)

    def dispatch(self, environ: dict[str, Any]) -> Response:
        request = Request(environ, shallow=True)
        # Checked against the declared length before a byte is read; a chunked body is checked
        # while it is read (`read_json_object`).
        request.max_content_length = self.max_body_bytes
        if (request.content_length or 0) > self.max_body_bytes:
            return error_response(413, f"body is larger than {self.max_body_bytes} bytes")
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except MethodNotAllowed as exc:
            return error_response(
                405, "method not allowed", {"Allow": ", ".join(exc.valid_methods)}
            )
        except HTTPException as exc:
            return error_response(exc.code or 404, "not found" if exc.code == 404 else exc.name)
        request.path_values = values
        return provider.handle_request(request)


class BrokerWebServer(WebServer):
    def get_wsgi_app(self) -> BrokerWsgiApp:
        settings = settings_for(self.container, BrokerSettings)
        cors = CorsPolicy.from_setting(settings.cors_allowed_origins)
        return BrokerWsgiApp(self, cors, settings.max_body_bytes)


class JsonHttpRequestHandler(HttpRequestHandler):
    """`@http` whose errors are JSON envelopes with the status from `broker.errors`."""

    server = BrokerWebServer()

    def response_from_exception(self, exc: Exception) -> Response:
        status, message = status_and_message(exc)
        return error_response(status, message)


http = JsonHttpRequestHandler.decorator
