"""The broker: the system's only public HTTP API, routing each request to the service behind it."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from broker.http import http, read_json_object
from broker.log_publisher import LogEventPublisher
from broker.logger_clients import GrpcLogger, XmlRpcLogger
from broker.payloads import LogRequest, logs_limit, mail_part
from broker.settings import BrokerSettings
from common.envelope import json_response
from common.errors import Forbidden, InvalidInput
from common.ops import Operations
from common.rpc_proxy import TimeoutRpcProxy
from common.settings import Settings
from common.tracing import CallTracer
from common.validation import Credentials, validate


class BrokerService:
    name = "broker"

    tracer = CallTracer()
    ops = Operations()
    settings = Settings(BrokerSettings)
    auth_rpc = TimeoutRpcProxy("auth", timeout_key="AUTH_RPC_TIMEOUT")
    logger_rpc = TimeoutRpcProxy("logger", timeout_key="LOGGER_RPC_TIMEOUT")
    mailer_rpc = TimeoutRpcProxy("mailer", timeout_key="MAILER_RPC_TIMEOUT")
    log_events = LogEventPublisher()
    xmlrpc_logger = XmlRpcLogger()
    grpc_logger = GrpcLogger()

    @http("POST", "/")
    def hit(self, request: Request) -> Response:
        return json_response(200, "Hit the broker")

    @http("GET", "/ping")
    def ping(self, request: Request) -> Response:
        return json_response(200, "pong")

    @http("GET", "/health")
    def health(self, request: Request) -> Response:
        return self.ops.health()

    @http("GET", "/metrics")
    def metrics(self, request: Request) -> Response:
        return self.ops.metrics()

    @http("POST", "/handle")
    def handle(self, request: Request) -> Response:
        body = read_json_object(request)
        action = body.get("action")
        if action == "auth":
            return self._authenticate(body)
        if action == "log":
            return self._log(body, self.settings.log_transport)
        if action == "mail":
            return self._send_mail(body)
        raise InvalidInput("unknown action")

    @http("POST", "/log-rabbit")
    def log_via_rabbit(self, request: Request) -> Response:
        return self._log(read_json_object(request), "rabbit")

    @http("POST", "/log-rpc")
    def log_via_rpc(self, request: Request) -> Response:
        return self._log(read_json_object(request), "rpc")

    @http("POST", "/log-grpc")
    def log_via_grpc(self, request: Request) -> Response:
        return self._log(read_json_object(request), "grpc")

    @http("GET", "/logs")
    def logs(self, request: Request) -> Response:
        limit = logs_limit(request.args.get("limit"))
        entries = self.logger_rpc.all(limit)
        return json_response(200, f"{len(entries)} newest log entries", data=entries)

    def _authenticate(self, body: dict[str, Any]) -> Response:
        credentials = validate(Credentials, body.get("auth"), "auth")
        user = self.auth_rpc.authenticate(credentials.email, credentials.password)
        return json_response(202, "Authenticated!", data=user)

    def _log(self, body: dict[str, Any], transport: str) -> Response:
        entry = validate(LogRequest, body.get("log"), "log")
        if transport == "rabbit":
            self.log_events.publish(entry.name, entry.data, entry.level)
            message = "logged via RabbitMQ"
        elif transport == "rpc":
            message = self.xmlrpc_logger.log_info(entry.name, entry.data)
        else:
            self.grpc_logger.write_log(entry.name, entry.data)
            message = "logged"
        return json_response(202, message)

    def _send_mail(self, body: dict[str, Any]) -> Response:
        if not self.settings.broker_mail_enabled:
            raise Forbidden("sending mail through the broker is disabled")
        result = self.mailer_rpc.send_mail(mail_part(body))
        return json_response(202, f"Message sent to {result['to']}")
