"""A Nameko entrypoint for XML-RPC methods: `@xmlrpc("RPCServer.LogInfo")`.

The server is the system's HTTP core (`common.web`: a SharedExtension whose accept loop runs in a
managed thread, one green thread per connection, HTTP/1.1 keep-alive, each request read whole
within deadlines before a worker is spawned) serving an application that speaks XML-RPC instead
of routing URLs. Each call runs as a Nameko worker (`spawn_worker`), so it gets a worker context,
dependency injection, error logging, the `max_workers` bound and a graceful stop; one slow call
never holds up the others.

Failures are XML-RPC faults, never tracebacks: the faultCode is the HTTP-like status of the error
(400 invalid input, 404 unknown method, 413 request too large, 500 unexpected, or the status of a
`common.errors.ServiceError`) and the faultString is safe to show to a client. Refusals at the
HTTP level (framing, timeouts, sizes of the headers, too many connections) are the server's JSON
envelopes, except the body size, which XML-RPC clients have always been told as a fault.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from functools import partial
from typing import Any
from xml.parsers.expat import ExpatError
from xmlrpc.client import Fault, ResponseError, dumps, loads

from eventlet.event import Event
from nameko.exceptions import ContainerBeingKilled, IncorrectSignature
from nameko.extensions import Entrypoint
from werkzeug.wrappers import Request, Response

from common.door_token import REFUSED, presented_ok
from common.envelope import error_response
from common.errors import ServiceError
from common.ids import IDEMPOTENCY_KEY_CONTEXT_KEY, IDEMPOTENCY_KEY_HEADER, event_id
from common.settings import settings_for
from common.signatures import CheckedOnceSignature
from common.web.server import HttpServer
from logger.settings import LoggerSettings

log = logging.getLogger(__name__)

XML_MIMETYPE = "text/xml"


class XmlRpcServer(HttpServer):
    """The HTTP core on `LOGGER_XMLRPC_ADDRESS`, dispatching by method name."""

    address_key = "LOGGER_XMLRPC_ADDRESS"
    limits_key = "LOGGER_XMLRPC_LIMITS"

    def setup(self) -> None:
        super().setup()
        self.door_token = settings_for(self.container, LoggerSettings).logger_door_token

    def get_app(self) -> XmlRpcApp:
        methods = {provider.xmlrpc_name: provider for provider in self._providers}
        return XmlRpcApp(methods, self.context_data_from_headers)

    def context_data_from_headers(self, request: Request) -> dict[str, Any]:
        """The request id, and the caller's `Idempotency-Key` (checked: an invalid one is a 400
        fault, not replaced, or a retry would be stored twice)."""
        context = super().context_data_from_headers(request)
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        if key is not None:
            try:
                context[IDEMPOTENCY_KEY_CONTEXT_KEY] = event_id(key)
            except ServiceError as exc:
                raise Fault(exc.status, exc.message) from None
        return context

    def respond(self, request: Request) -> Response:
        """A caller without the door token gets fault 401 before its call is parsed."""
        if not presented_ok(self.door_token, request.headers.get("Authorization")):
            fault = dumps(Fault(401, REFUSED), methodresponse=True)
            return Response(fault, content_type=XML_MIMETYPE)
        return super().respond(request)

    def server_error(self, status: int, message: str, request: Request | None) -> Response:
        if status == 413:
            size = _readable_size(self.limits.max_body_bytes)
            fault = dumps(Fault(413, f"request body over {size}"), methodresponse=True)
            return Response(fault, content_type=XML_MIMETYPE)
        return super().server_error(status, message, request)


def _readable_size(size: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


class XmlRpcApp:
    """Parse the call, run the method's entrypoint, answer its result or a fault."""

    def __init__(
        self,
        methods: dict[str, XmlRpcMethod],
        context_data: Callable[[Request], dict[str, Any]] = lambda request: {},
    ) -> None:
        self.methods = methods
        self.context_data = context_data

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """As a WSGI application (werkzeug's test client drives it so)."""
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.method != "POST":
            return error_response(405, "XML-RPC takes POST", {"Allow": "POST"})
        return Response(self.dispatch(request), content_type=XML_MIMETYPE)

    def dispatch(self, request: Request) -> str:
        try:
            params, method_name = self.parse(request)
            method = self.methods.get(method_name)
            if method is None:
                raise Fault(404, f"unknown method {method_name!r}")
            return self.marshal(method.call(params, self.context_data(request)))
        except Fault as fault:
            return dumps(fault, methodresponse=True)

    @staticmethod
    def marshal(result: Any) -> str:
        try:
            return dumps((result,), methodresponse=True, allow_none=True)
        except (TypeError, OverflowError):
            log.exception("the result cannot be sent as XML-RPC")
            raise Fault(500, "internal error") from None

    @staticmethod
    def parse(request: Request) -> tuple[tuple[Any, ...], str | None]:
        try:
            return loads(request.get_data(cache=False), use_builtin_types=True)
        except (ExpatError, ResponseError, ValueError, TypeError):
            raise Fault(400, "malformed XML-RPC request") from None


class XmlRpcMethod(CheckedOnceSignature, Entrypoint):
    """One XML-RPC method, e.g. "RPCServer.LogInfo", served by the decorated service method."""

    server = XmlRpcServer()

    def __init__(self, xmlrpc_name: str, **kwargs: Any) -> None:
        self.xmlrpc_name = xmlrpc_name
        super().__init__(**kwargs)

    def setup(self) -> None:
        self.server.register_provider(self)

    def stop(self) -> None:
        self.server.unregister_provider(self)
        super().stop()

    def call(self, params: tuple[Any, ...], context_data: dict[str, Any] | None = None) -> Any:
        """Run a worker with `params` as positional arguments; its failure becomes a Fault."""
        try:
            self.check_signature(params, {})
        except IncorrectSignature:
            message = f"{self.xmlrpc_name} takes {self.parameters()}, got {len(params)}"
            raise Fault(400, message) from None
        result = Event()
        try:
            self.container.spawn_worker(
                self,
                params,
                {},
                context_data=context_data,
                handle_result=partial(self.handle_result, result),
            )
            return result.wait()
        except ServiceError as exc:
            raise Fault(exc.status, exc.message) from None
        except ContainerBeingKilled:
            raise Fault(503, "the service is shutting down") from None
        except Exception:
            # The worker's traceback is already in the service log (Nameko logs it).
            raise Fault(500, "internal error") from None

    def parameters(self) -> str:
        """The method's parameters as a client sees them, e.g. "(payload)"."""
        method = getattr(self.container.service_cls, self.method_name)
        names = list(inspect.signature(method).parameters)[1:]  # without `self`
        return f"({', '.join(names)})"

    def handle_result(self, event: Event, worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        event.send(result, exc_info)
        return result, exc_info


xmlrpc = XmlRpcMethod.decorator
