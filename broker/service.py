"""The broker: the system's only public HTTP API, routing each request to the service behind it."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from broker.access import client_address
from broker.http import http, read_json_object
from broker.log_publisher import LogEventPublisher
from broker.logger_clients import GrpcLogger, XmlRpcLogger
from broker.payloads import LogRequest, OutgoingEvent, logs_query, mail_part
from broker.refusals import Refusals
from broker.settings import BrokerSettings
from common.envelope import json_response
from common.errors import Forbidden, InvalidInput, TooManyRequests
from common.ids import IDEMPOTENCY_KEY_HEADER, event_id
from common.ops import Operations
from common.rpc_proxy import TimeoutRpcProxy
from common.settings import Settings
from common.tracing import CallTracer
from common.validation import Credentials, RefreshRequest, validate
from common.web.server import request_id_of


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
    refusals = Refusals()

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
            return self._authenticate(body, request)
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

    @http("POST", "/auth/refresh")
    def refresh(self, request: Request) -> Response:
        body = validate(RefreshRequest, read_json_object(request))
        tokens = self.auth_rpc.refresh(body.refresh_token)
        return json_response(200, "Refreshed", data=tokens)

    @http("POST", "/auth/logout")
    def logout(self, request: Request) -> Response:
        body = validate(RefreshRequest, read_json_object(request))
        self.auth_rpc.logout(body.refresh_token)
        return json_response(200, "Signed out")

    @http("GET", "/logs", protected=True)
    def logs(self, request: Request) -> Response:
        page = self.logger_rpc.page(**logs_query(request.args.to_dict(flat=False)))
        count = len(page["entries"])
        return json_response(200, f"{count} log {'entry' if count == 1 else 'entries'}", data=page)

    @http("GET", "/logs/<path:entry_id>", protected=True)
    def log_entry(self, request: Request, entry_id: str) -> Response:
        # `path`: an id a caller chose (Idempotency-Key) may hold a slash.
        return json_response(200, "log entry", data=self.logger_rpc.get(entry_id))

    def _authenticate(self, body: dict[str, Any], request: Request) -> Response:
        credentials = validate(Credentials, body.get("auth"), "auth")
        address = client_address(request, self.settings.trusted_proxy_addresses)
        self.refusals.check(address, credentials.email)  # auth's 429s, remembered
        try:
            # The user's fields plus access_token, token_type, expires_in, refresh_token.
            user = self.auth_rpc.authenticate(credentials.email, credentials.password, address)
        except TooManyRequests as refusal:
            self.refusals.remember(address, credentials.email, refusal)
            raise
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
