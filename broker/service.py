"""The broker: the system's only public HTTP API, routing each request to the service behind it."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from broker.http import http, read_json_object
from broker.log_publisher import LogEventPublisher
from broker.logger_clients import GrpcLogger, XmlRpcLogger
from broker.payloads import LogRequest, OutgoingEvent, logs_query, mail_part
from broker.settings import BrokerSettings
from common.envelope import json_response
from common.errors import Forbidden, InvalidInput
from common.ids import IDEMPOTENCY_KEY_HEADER, event_id
from common.rpc_proxy import TimeoutRpcProxy
from common.settings import Settings
from common.validation import Credentials, validate
from common.web.server import request_id_of


class BrokerService:
    name = "broker"

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

    @http("POST", "/handle")
    def handle(self, request: Request) -> Response:
        body = read_json_object(request)
        action = body.get("action")
        if action == "auth":
            return self._authenticate(body)
        if action == "log":
            return self._log(request, body, self.settings.log_transport)
        if action == "mail":
            return self._send_mail(body)
        raise InvalidInput("unknown action")

    @http("POST", "/log-rabbit")
    def log_via_rabbit(self, request: Request) -> Response:
        return self._log(request, read_json_object(request), "rabbit")

    @http("POST", "/log-rpc")
    def log_via_rpc(self, request: Request) -> Response:
        return self._log(request, read_json_object(request), "rpc")

    @http("POST", "/log-grpc")
    def log_via_grpc(self, request: Request) -> Response:
        return self._log(request, read_json_object(request), "grpc")

    @http("GET", "/logs")
    def logs(self, request: Request) -> Response:
        page = self.logger_rpc.page(**logs_query(request.args.to_dict(flat=False)))
        count = len(page["entries"])
        return json_response(200, f"{count} log {'entry' if count == 1 else 'entries'}", data=page)

    @http("GET", "/logs/<path:entry_id>")
    def log_entry(self, request: Request, entry_id: str) -> Response:
        # `path`: an id a caller chose (Idempotency-Key) may hold a slash.
        return json_response(200, "log entry", data=self.logger_rpc.get(entry_id))

    def _authenticate(self, body: dict[str, Any]) -> Response:
        credentials = validate(Credentials, body.get("auth"), "auth")
        user = self.auth_rpc.authenticate(credentials.email, credentials.password)
        return json_response(202, "Authenticated!", data=user)

    def _log(self, request: Request, body: dict[str, Any], transport: str) -> Response:
        """Every event gets its id here, where it enters the system (or keeps the one its
        caller chose, so that the caller's retries store it once): the id travels with it to
        storage, which refuses a second copy."""
        entry = validate(LogRequest, body.get("log"), "log")
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER) or entry.idempotency_key
        event = OutgoingEvent(
            entry.name, entry.data, entry.level, event_id(key), request_id_of(request)
        )
        if transport == "rabbit":
            self.log_events.publish(event)
            message = "logged via RabbitMQ"
        elif transport == "rpc":
            message = self.xmlrpc_logger.log_info(event)
        else:
            self.grpc_logger.write_log(event)
            message = "logged"
        return json_response(202, message, data={"id": event.id})

    def _send_mail(self, body: dict[str, Any]) -> Response:
        if not self.settings.broker_mail_enabled:
            raise Forbidden("sending mail through the broker is disabled")
        result = self.mailer_rpc.send_mail(mail_part(body))
        return json_response(202, f"Message sent to {result['to']}")
