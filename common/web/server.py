"""The system's one HTTP/1.1 server: a Nameko SharedExtension on eventlet green sockets.

What it keeps of Nameko's `WebServer`: one server per container and class, shared by the
entrypoints that register with it, an accept loop in a managed thread, werkzeug Requests and
Responses, `context_data_from_headers`. What it changes: requests are parsed by llhttp
(`common.web.reader`) and read whole, within deadlines and limits, by the connection's green
thread before an entrypoint spawns a worker (`common.web.connection`); open connections are
capped (a 503 past it); the server's own answers are JSON envelopes; and a stop is bounded:
it stops accepting and drops idle and half-received connections at once, lets requests that
reached a worker finish, and closes what is left after `stop_grace`.

Subclasses pick the config keys (`address_key`, `limits_key`) and may override `get_app`,
`respond`, `finish_response` and `server_error`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
from collections.abc import Iterable
from time import monotonic
from typing import Any

import eventlet
from greenlet import GreenletExit
from nameko.constants import WEB_SERVER_CONFIG_KEY
from nameko.extensions import ProviderCollector, SharedExtension
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from common.envelope import error_response
from common.ids import REQUEST_ID_CONTEXT_KEY, REQUEST_ID_HEADER, new_id, request_id
from common.web.connection import REAP_SECONDS, Connection, State, turn_away
from common.web.environ import base_environ
from common.web.observers import Observer, RequestRecord, access_log, log_access
from common.web.process import install_signal_wakeup, raise_file_limit
from common.web.reader import IncomingRequest
from common.web.responses import render
from common.web.routing import Router
from common.web.settings import load_server_settings

log = logging.getLogger(__name__)

BACKLOG = 1024
SPARE_FILES = 256  # descriptors besides the connections: AMQP, databases, files
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
# Killed by a stop: they hold no request that reached a worker.
_DROPPED_ON_STOP = (State.IDLE, State.READING, State.CLOSING)


class HttpServer(ProviderCollector, SharedExtension):
    address_key = WEB_SERVER_CONFIG_KEY
    limits_key = "WEB_SERVER_LIMITS"

    def __init__(self) -> None:
        super().__init__()
        self.connections: set[Connection] = set()
        self.observers: list[Observer] = []
        self.draining = False
        self._listener: Any = None
        self._accept_thread: Any = None
        self._reaper: Any = None
        self._stop_deadline = 0.0

    def setup(self) -> None:
        self.settings = load_server_settings(self.container, self.address_key, self.limits_key)
        self.limits = self.settings.limits

    def start(self) -> None:
        if self._listener is not None:
            return
        address = self.settings.bind_address
        self.app = self.get_app()
        self.base_environ = base_environ(address.address, address.port)
        # eventlet.listen sets SO_REUSEPORT: several processes may serve one port.
        self._listener = eventlet.listen((address.address, address.port), backlog=BACKLOG)
        self._listener.settimeout(None)  # as Nameko's server: kombu may set a default timeout
        if access_log.isEnabledFor(logging.INFO):
            self.observe(log_access)
        install_signal_wakeup()
        raise_file_limit(self.limits.max_connections + SPARE_FILES)
        self._accept_thread = self.container.spawn_managed_thread(
            self._accept, identifier=f"{type(self).__name__}.accept"
        )
        self._reaper = self.container.spawn_managed_thread(
            self._reap, identifier=f"{type(self).__name__}.reap"
        )

    def observe(self, observer: Observer) -> None:
        self.observers.append(observer)

    # What subclasses change

    def get_app(self) -> Any:
        """An object whose `respond(request)` returns the Response: by default the router."""
        return Router(self.make_url_map())

    def make_url_map(self) -> Map:
        url_map = Map()
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def respond(self, request: Request) -> Response:
        return self.app.respond(request)

    def finish_response(self, request: Request | None, response: Response) -> Response:
        """Every response passes here before it is sent, the server's own answers included.

        Subclasses that override it call it too: it puts the request id on every answer."""
        response.headers[REQUEST_ID_HEADER] = request_id_of(request) if request else new_id()
        return response

    def server_error(self, status: int, message: str, request: Request | None) -> Response:
        """The server's own answer to a request it refuses or cannot serve."""
        return error_response(status, message)

    def context_data_from_headers(self, request: Request) -> dict[str, Any]:
        """What the request's worker carries in Nameko's context data, and so passes on with
        every RPC and event it makes: the request id."""
        return {REQUEST_ID_CONTEXT_KEY: request_id_of(request)}

    # Connections

    def _accept(self) -> None:
        while True:
            try:
                sock, peer = self._listener.accept()
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise
                log.warning("cannot accept connections for now: %s", exc.strerror)
                eventlet.sleep(0.1)
                continue
            if len(self.connections) >= self.limits.max_connections:
                turn_away(sock, self._turned_away())
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = Connection(self, sock, peer)
            self.connections.add(connection)
            connection.thread = self.container.spawn_managed_thread(
                connection.serve, identifier="http connection"
            )

    def _reap(self) -> None:
        while True:
            eventlet.sleep(REAP_SECONDS)
            now = monotonic()
            for connection in [c for c in self.connections if c.deadline <= now]:
                connection.expire()

    def _turned_away(self) -> bytes:
        message = "too many open connections, try again later"
        response = self.finish_response(None, self.server_error(503, message, None))
        response.headers["Retry-After"] = "1"
        return render(response, {"REQUEST_METHOD": "GET"}, keep_alive=False).first

    def forget(self, connection: Connection) -> None:
        self.connections.discard(connection)
        connection.sock.close()

    def notify(
        self, incoming: IncomingRequest, request: Request | None, status: int, peer: str
    ) -> None:
        record = RequestRecord(
            incoming.method,
            incoming.target.decode("latin-1"),
            status,
            monotonic() - incoming.started,
            request,
            peer,
        )
        for observer in self.observers:
            try:
                observer(record)
            except Exception:
                log.exception("request observer %r failed", observer)

    # Stopping

    def unregister_provider(self, provider: Any) -> None:
        # The first entrypoint to stop means the container is stopping: stop taking requests.
        super().unregister_provider(provider)
        self._begin_stop()

    def _begin_stop(self) -> None:
        if self.draining:
            return
        self.draining = True
        limits = getattr(self, "limits", None)  # None when the container failed in setup
        self._stop_deadline = monotonic() + (limits.stop_grace if limits else 0.0)
        self._close_listener()
        self._drop(c for c in list(self.connections) if c.state in _DROPPED_ON_STOP)

    def stop(self) -> None:
        """Called once the container's workers are done: wait for the answers still being
        written, until `stop_grace` after the stop began, then close what is left."""
        self._begin_stop()
        with eventlet.Timeout(max(0.0, self._stop_deadline - monotonic()), False):
            for connection in list(self.connections):
                # Killed, or failed and logged: gone either way. (Not BaseException: the
                # Timeout that ends the wait is one.)
                with contextlib.suppress(Exception, GreenletExit):
                    connection.thread.wait()
        self._drop(list(self.connections))
        if self._reaper is not None:
            self._reaper.kill()
        super().stop()

    def kill(self) -> None:
        self.draining = True
        self._close_listener()
        self._drop(list(self.connections))
        if self._reaper is not None:
            self._reaper.kill()

    def _close_listener(self) -> None:
        if self._accept_thread is not None:
            self._accept_thread.kill()
        if self._listener is not None:
            self._listener.close()

    def _drop(self, connections: Iterable[Connection]) -> None:
        for connection in connections:
            if connection.thread is not None:
                connection.thread.kill()
            self.forget(connection)


def request_id_of(request: Request) -> str:
    """The request's id: the caller's `X-Request-ID` when valid, else one made for it (once,
    so the worker, the logs and the answer agree)."""
    environ = request.environ
    if (found := environ.get("common.request_id")) is None:
        found = environ["common.request_id"] = request_id(environ.get("HTTP_X_REQUEST_ID"))
    return found
