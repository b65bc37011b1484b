"""`ops = Operations()`: a service's `/metrics` and `/health`.

HTTP services (broker, test page) answer them on their own port with two `@http` routes that
call the worker's `ops.metrics()` / `ops.health()`. A Nameko service without HTTP sets
`METRICS_ADDRESS` (host:port) in its config.yaml, and this provider serves, on that port, from
eventlet's WSGI server in one managed thread (no worker per request):

    GET /metrics   Prometheus text format (common/metrics.py)
    GET /health    readiness: 200 or 503 with each dependency's state (common/readiness.py)
    GET /ping      200, liveness: the process answers

Without `METRICS_ADDRESS` (tests' containers) nothing listens. prometheus_client's own
`start_http_server` would work under eventlet's monkey-patching too (its threads become green
threads), but a managed thread stops with the container and reports through Nameko.
"""

from __future__ import annotations

import logging
from typing import Any

import eventlet
import eventlet.wsgi
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request, Response

from common.envelope import error_response, json_response
from common.metrics import exposition
from common.readiness import health_response

log = logging.getLogger(__name__)

ADDRESS_KEY = "METRICS_ADDRESS"


class OpsView:
    """What a worker gets: the two answers, for an HTTP service's own routes."""

    def __init__(self, container: Any) -> None:
        self._container = container

    def metrics(self) -> Response:
        body, content_type = exposition()
        return Response(body, status=200, content_type=content_type)

    def health(self) -> Response:
        return health_response(self._container)


class Operations(DependencyProvider):
    def setup(self) -> None:
        self.address = self.container.config.get(ADDRESS_KEY) or None
        self.view = OpsView(self.container)
        self._socket: Any = None
        self._thread: Any = None

    def start(self) -> None:
        if self.address is None:
            return
        host, _, port = str(self.address).rpartition(":")
        self._socket = eventlet.listen((host.strip("[]") or "0.0.0.0", int(port)), reuse_port=False)
        self.port = self._socket.getsockname()[1]
        self._thread = self.container.spawn_managed_thread(self._serve, identifier="ops server")

    def _serve(self) -> None:
        eventlet.wsgi.server(self._socket, self._app, log_output=False, debug=False, max_size=64)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        view = self.view
        if request.method != "GET":
            response = error_response(405, "method not allowed")
        elif request.path == "/metrics":
            response = view.metrics()
        elif request.path == "/health":
            response = view.health()
        elif request.path == "/ping":
            response = json_response(200, "pong")
        else:
            response = error_response(404, "not found")
        return response(environ, start_response)

    def stop(self) -> None:
        self._close()

    def kill(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def get_dependency(self, worker_ctx: Any) -> OpsView:
        return self.view
