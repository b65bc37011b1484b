"""The broker's HTTP layer on the system's HTTP core (`common.web`): CORS on every answer (the
server's own included), preflights answered, JSON only for requests that change state, security
headers, access tokens on protected routes (broker/access.py), and the body as one JSON object.

The body limit (`WEB_SERVER_LIMITS.MAX_BODY_BYTES`), JSON 404/405 and the error envelopes come
from the core; the broker extends its server at the hooks it offers (`setup`, `respond`,
`finish_response`), not by rewriting it.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from broker.access import check_token, require_json
from broker.cors import CorsPolicy
from broker.settings import BrokerSettings
from common.envelope import error_response
from common.errors import ServiceError
from common.settings import settings_for
from common.validation import parse_json_object
from common.web.entrypoint import HttpEntrypoint
from common.web.server import HttpServer

# On every answer: no content sniffing, and never stored by a cache (answers carry tokens, log
# entries and users; none is worth caching).
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"))


def read_json_object(request: Request) -> dict[str, Any]:
    """The body as one JSON object (its Content-Type was checked before: broker/access.py).

    The server has read it already, within the body limit.
    """
    return parse_json_object(request.get_data(cache=False))


class BrokerServer(HttpServer):
    def setup(self) -> None:
        super().setup()
        settings = settings_for(self.container, BrokerSettings)
        self.cors = CorsPolicy.from_setting(settings.cors_allowed_origins)
        self.token_keys = settings.token_keys

    def respond(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            origin = request.environ.get("HTTP_ORIGIN")
            return Response(status=204, headers=self.cors.preflight_headers(origin))
        try:
            require_json(request)
        except ServiceError as exc:
            return error_response(exc.status, exc.message)
        return super().respond(request)

    def finish_response(self, request: Request | None, response: Response) -> Response:
        if request is not None and request.method != "OPTIONS":
            origin = request.environ.get("HTTP_ORIGIN")
            response.headers.extend(self.cors.response_headers(origin))
        response.headers.extend(SECURITY_HEADERS)
        return super().finish_response(request, response)


class BrokerHttp(HttpEntrypoint):
    """`@http(method, url, protected=True)`: the route needs a valid access token."""

    server = BrokerServer()

    def __init__(self, method: str, url: str, protected: bool = False, **kwargs: Any) -> None:
        self.protected = protected
        super().__init__(method, url, **kwargs)

    def handle_request(self, request: Request) -> Response:
        if self.protected:
            try:
                check_token(request, self.server.token_keys)
            except ServiceError as exc:
                return self.response_from_exception(exc)
        return super().handle_request(request)


http = BrokerHttp.decorator
