"""The broker's direct ways to the logger, as Nameko dependencies: XML-RPC `RPCServer.LogInfo`
(`/log-rpc`) and gRPC `logs.LogService/WriteLog` (`/log-grpc`).

Both keep their connections open across requests (the Go original dialled one per request), bound
every call with a timeout, and turn failures into `common.errors`: the logger refusing the input
is `InvalidInput` (400), a logger that is not there is `ServiceUnavailable` (503), one that is too
slow `DownstreamUnavailable` (504), any other failure `DownstreamError` (502), with messages that
never carry transport internals.
"""

from __future__ import annotations

import http.client
import logging
from typing import Any
from xmlrpc.client import Error as XmlRpcError
from xmlrpc.client import Fault, ServerProxy, Transport

import grpc
from eventlet import patcher, tpool
from eventlet.pools import Pool
from nameko.extensions import DependencyProvider

from broker.grpc_door import DoorTokenClientInterceptor
from broker.payloads import OutgoingEvent
from broker.settings import BrokerSettings
from common.door_token import authorization_value
from common.errors import (
    DownstreamError,
    DownstreamUnavailable,
    InvalidInput,
    ServiceError,
    ServiceUnavailable,
)
from common.ids import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENCY_KEY_METADATA,
    REQUEST_ID_HEADER,
    REQUEST_ID_METADATA,
)
from common.settings import settings_for
from protos import logs_pb2, logs_pb2_grpc

log = logging.getLogger(__name__)


class _TimeoutTransport(Transport):
    """xmlrpc.client's HTTP/1.1 keep-alive transport, with a socket timeout and the door token,
    sending the current call's headers (a transport serves one call at a time: its proxy is
    pooled)."""

    def __init__(self, timeout: float, door_token: str = "") -> None:
        headers = [("Authorization", authorization_value(door_token))] if door_token else []
        super().__init__(headers=headers)
        self.timeout = timeout
        self.call_headers: list[tuple[str, str]] = []

    def send_headers(self, connection: http.client.HTTPConnection, headers: Any) -> None:
        super().send_headers(connection, [*headers, *self.call_headers])

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


class XmlRpcLogClient:
    def __init__(self, proxies: Pool, timeout: float) -> None:
        self._proxies = proxies
        self._timeout = timeout

    def log_info(self, event: OutgoingEvent) -> str:
        """Returns "Processed payload via RPC: <name>" once the logger stored the entry.

        The event's id and request id go as HTTP headers, so the struct stays the Go client's
        `{Name, Data}` (plus its level)."""
        payload = {"Name": event.name, "Data": event.data, "Level": event.level}
        try:
            with self._proxies.item() as proxy:
                proxy("transport").call_headers = [
                    (IDEMPOTENCY_KEY_HEADER, event.id),
                    (REQUEST_ID_HEADER, event.request_id),
                ]
                return proxy.RPCServer.LogInfo(payload)
        except Fault as fault:
            raise _error_for_fault(fault) from None
        except TimeoutError:
            raise DownstreamUnavailable(
                f"the logger did not answer within {self._timeout:g} s"
            ) from None
        except (OSError, http.client.HTTPException):
            raise ServiceUnavailable("the logger's XML-RPC server is unreachable") from None
        except XmlRpcError as exc:
            log.error("XML-RPC call to the logger failed: %s", exc)
            raise DownstreamError("the logger's XML-RPC server failed") from None


def _error_for_fault(fault: Fault) -> ServiceError:
    # The logger's faults carry an HTTP-like status as faultCode and a client-safe faultString.
    if fault.faultCode == 400:
        return InvalidInput(fault.faultString)
    if fault.faultCode == 503:
        return ServiceUnavailable(fault.faultString)
    if fault.faultCode == 504:
        return DownstreamUnavailable(fault.faultString)
    return DownstreamError(f"the logger failed: {fault.faultString}")


class XmlRpcLogger(DependencyProvider):
    """Config: LOGGER_XMLRPC_URL, LOGGER_XMLRPC_TIMEOUT (seconds).

    A pool of ServerProxy objects, each holding one kept-alive HTTP connection and used by one
    worker at a time; the pool grows on demand up to the container's `max_workers`. Every
    connection it opened is closed on stop, whether its proxy is back in the pool or not.
    """

    def setup(self) -> None:
        settings = settings_for(self.container, BrokerSettings)
        self.url = settings.logger_xmlrpc_url
        self.timeout = settings.logger_xmlrpc_timeout
        self.door_token = settings.logger_door_token
        self.transports: list[_TimeoutTransport] = []  # one per proxy the pool made
        self.proxies = Pool(max_size=self.container.max_workers, create=self._new_proxy)

    def _new_proxy(self) -> ServerProxy:
        transport = _TimeoutTransport(self.timeout, self.door_token)
        self.transports.append(transport)
        return ServerProxy(self.url, transport=transport)

    def stop(self) -> None:
        for transport in self.transports:
            transport.close()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> XmlRpcLogClient:
        return XmlRpcLogClient(self.proxies, self.timeout)


def use_os_locks_in_grpc() -> None:
    """Let grpc's Python layer lock with real OS locks, as it would in an unpatched process.

    `eventlet.monkey_patch()` turns `threading` green, and grpc guards each channel with a
    `threading.Condition`. Blocking calls made from several OS threads (eventlet's tpool, where
    grpc's C core may block without stalling the hub) would then contend on one green lock across
    threads, which eventlet cannot do ("Cannot switch to a different thread"). grpc looks
    `threading` up in its module globals when a channel is made, so pointing those at the
    original module before the channel exists is enough. Idempotent.

    grpc offers no public way to do this: this function is the only place that touches its
    private modules, and broker/tests/unit/test_grpc_os_locks.py fails if they change shape.
    """
    from grpc import _channel
    from grpc._cython import cygrpc

    real_threading = patcher.original("threading")
    for module in (cygrpc, _channel):
        if not hasattr(module, "threading"):
            raise RuntimeError(
                f"{module.__name__} no longer takes its locks from a module-level `threading`: "
                "the broker's gRPC client needs another way to lock with OS locks under eventlet"
            )
        module.threading = real_threading


class GrpcLogClient:
    def __init__(self, stub: logs_pb2_grpc.LogServiceStub, timeout: float) -> None:
        self._stub = stub
        self._timeout = timeout

    def write_log(self, event: OutgoingEvent) -> str:
        """The server's result ("logged!") once the logger stored the entry; the event's id and
        request id go as metadata."""
        entry = logs_pb2.Log(name=event.name, data=event.data, level=event.level)
        metadata = ((IDEMPOTENCY_KEY_METADATA, event.id), (REQUEST_ID_METADATA, event.request_id))
        try:
            # A real OS thread blocks in grpc's C core; this green thread waits without blocking.
            response = tpool.execute(
                self._stub.WriteLog,
                logs_pb2.LogRequest(logEntry=entry),
                timeout=self._timeout,
                metadata=metadata,
            )
        except grpc.RpcError as exc:
            raise self._error_for_status(exc.code(), exc.details()) from None
        return response.result

    def _error_for_status(self, code: grpc.StatusCode, details: str | None) -> ServiceError:
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return InvalidInput(details or "invalid log entry")
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return DownstreamUnavailable(f"the logger did not answer within {self._timeout:g} s")
        if code == grpc.StatusCode.UNAVAILABLE:
            # The details of a connection failure name addresses: not for clients.
            return ServiceUnavailable("the logger's gRPC server is unavailable")
        log.error("gRPC call to the logger failed: %s %s", code, details)
        return DownstreamError("the logger's gRPC server failed")


class GrpcLogger(DependencyProvider):
    """Config: LOGGER_GRPC_TARGET (host:port), LOGGER_GRPC_TIMEOUT (seconds, the call deadline).

    One channel for the container's lifetime: it multiplexes every call over one HTTP/2
    connection and reconnects by itself when the server comes back.
    """

    def setup(self) -> None:
        settings = settings_for(self.container, BrokerSettings)
        self.timeout = settings.logger_grpc_timeout
        use_os_locks_in_grpc()
        self.channel = grpc.insecure_channel(settings.logger_grpc_target)
        channel = self.channel
        if settings.logger_door_token:
            channel = grpc.intercept_channel(
                channel, DoorTokenClientInterceptor(settings.logger_door_token)
            )
        self.stub = logs_pb2_grpc.LogServiceStub(channel)

    def stop(self) -> None:
        self.channel.close()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> GrpcLogClient:
        return GrpcLogClient(self.stub, self.timeout)
