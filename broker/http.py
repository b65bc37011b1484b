"""The broker's HTTP layer on the system's HTTP core (`common.web`): CORS on every answer (the
server's own included), preflights answered, and the body as one JSON object.

The body limit (`WEB_SERVER_LIMITS.MAX_BODY_BYTES`), JSON 404/405 and the error envelopes come
from the core; the broker extends its server at the hooks it offers (`setup`, `respond`,
`finish_response`), not by rewriting it.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from broker.cors import CorsPolicy
from broker.settings import BrokerSettings
from common.settings import settings_for
from common.validation import parse_json_object
from common.web.entrypoint import HttpEntrypoint
from common.web.server import HttpServer


def read_json_object(request: Request) -> dict[str, Any]:
    """The body as one JSON object, read whatever the Content-Type (forms are never parsed).

    The server has read it already, within the body limit.
    """
    return parse_json_object(request.get_data(cache=False))


class BrokerServer(HttpServer):
    def setup(self) -> None:
        super().setup()
        settings = settings_for(self.container, BrokerSettings)
        self.cors = CorsPolicy.from_setting(settings.cors_allowed_origins)

    def respond(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            origin = request.environ.get("HTTP_ORIGIN")
            return Response(status=204, headers=self.cors.preflight_headers(origin))
        return super().respond(request)

    def finish_response(self, request: Request | None, response: Response) -> Response:
        if request is not None and request.method != "OPTIONS":
            origin = request.environ.get("HTTP_ORIGIN")
            response.headers.extend(self.cors.response_headers(origin))
        return super().finish_response(request, response)


class BrokerHttp(HttpEntrypoint):
    server = BrokerServer()


http = BrokerHttp.decorator
