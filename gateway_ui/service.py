"""The browser test page, whose buttons call the broker from the user's browser, and the log
dashboard (sign in, then the stored log entries).

This service only serves files; every request the pages make goes straight to the broker.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from common.envelope import json_response
from common.ops import Operations
from common.settings import Settings
from common.tracing import CallTracer
from common.web.entrypoint import http
from gateway_ui.dependencies import PageFiles
from gateway_ui.settings import PageSettings


class GatewayUiService:
    name = "gateway_ui"

    tracer = CallTracer()
    ops = Operations()
    settings = Settings(PageSettings)
    site = PageFiles()

    @http("GET", "/")
    def index(self, request: Request) -> Response:
        return self.site.page("/")

    @http("GET", "/dashboard")
    def dashboard(self, request: Request) -> Response:
        return self.site.page("/dashboard")

    @http("GET", "/static/<path:path>")
    def static(self, request: Request, path: str) -> Response:
        return self.site.static_file(path, request.environ)

    @http("GET", "/ping")
    def ping(self, request: Request) -> Response:
        return json_response(200, "pong")

    @http("GET", "/health")
    def health(self, request: Request) -> Response:
        return self.ops.health()

    @http("GET", "/metrics")
    def metrics(self, request: Request) -> Response:
        return self.ops.metrics()
