"""The broker's direct ways to the logger, as Nameko dependencies: XML-RPC `RPCServer.LogInfo`
(`/log-rpc`) and gRPC `logs.LogService/WriteLog` (`/log-grpc`).

Both keep their connections open across requests (the Go original dialled one per request), bound
every call with a timeout, and turn failures into `common.errors`: the logger refusing the input
is `InvalidInput` (400), a logger that is not there is `ServiceUnavailable` (503), one that is too
slow `DownstreamUnavailable` (504), any other failure `DownstreamError` (502), with messages that
never carry transport internals.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
from collections import deque
from typing import Any
from urllib.parse import urlsplit
from xmlrpc.client import Error as XmlRpcError
from xmlrpc.client import Fault, ProtocolError, ServerProxy, Transport

import eventlet
import grpc
from eventlet import patcher, tpool
from eventlet.event import Event
from eventlet.hubs import trampoline
from eventlet.pools import Pool
from httptools import HttpParserError, HttpResponseParser
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

# Not eventlet's green `os`: the wake-up pipe is written from grpc's OS threads.
_real_os = patcher.original("os")


class _HttpResponse:
    """One HTTP response read with llhttp (`httptools`, the parser of the HTTP core)."""

    __slots__ = ("body", "complete", "keep_alive", "parser")

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.parser = HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        # Asked here: once the message is complete, llhttp has reset what it answers from.
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _TimeoutTransport(Transport):
    """xmlrpc.client's transport over one kept-alive HTTP/1.1 connection, with a socket timeout
    and the door token, sending the current call's headers (a transport serves one call at a
    time: its proxy is pooled).

    The exchange itself is made here rather than by `http.client`: one send of the request made
    in one piece, and the response parsed by llhttp, where `http.client` builds it from several
    objects and parses its headers through `email.parser` (about a tenth of the broker's CPU on
    `/log-rpc`, py-spy). xmlrpc.client still writes the request and reads the answer. Like
    xmlrpc.client's own transport, a kept-alive connection that the server closed before
    answering is dialled again once (the event id makes the second call harmless).
    """

    def __init__(self, timeout: float, door_token: str = "") -> None:
        headers = [("Authorization", authorization_value(door_token))] if door_token else []
        super().__init__(headers=headers)
        self.timeout = timeout
        self.call_headers: list[tuple[str, str]] = []
        self._socket: socket.socket | None = None

    def single_request(
        self, host: Any, handler: str, request_body: bytes, verbose: bool = False
    ) -> Any:
        try:
            response = self._exchange(host, handler, request_body)
        except BaseException:
            self.close()
            raise
        status = response.parser.get_status_code()
        if not response.keep_alive:
            self.close()
        if status != 200:
            raise ProtocolError(f"{host}{handler}", status, "", {})
        parser, unmarshaller = self.getparser()
        parser.feed(b"".join(response.body))
        parser.close()
        return unmarshaller.close()

    def _exchange(self, host: Any, handler: str, body: bytes) -> _HttpResponse:
        sock = self._socket
        fresh = sock is None
        if sock is None:
            address = urlsplit(f"//{host}")
            sock = socket.create_connection((address.hostname, address.port or 80), self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._socket = sock
        head = [f"POST {handler} HTTP/1.1", f"Host: {host}", f"User-Agent: {self.user_agent}"]
        head += ["Content-Type: text/xml", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in (*self._headers, *self.call_headers)]
        sock.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)
        response = _HttpResponse()
        while not response.complete:
            data = sock.recv(65536)
            if not data:
                if fresh or response.parser.get_status_code():
                    raise http.client.IncompleteRead(b"")
                # A kept-alive connection the server had closed: xmlrpc.client dials again.
                raise http.client.RemoteDisconnected("the logger closed the connection")
            response.parser.feed_data(data)
        return response

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        super().close()


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
        except (OSError, http.client.HTTPException, HttpParserError):
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
    `threading.Condition`. Calls are started from the hub's thread and completed on grpc's own
    channel thread (broker's `GreenWakeups`), which would then contend on one green lock across
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


class GreenWakeups:
    """Wakes green threads from grpc's own OS threads, without an OS thread per call.

    A call is started from the green thread (`future()` does not block) and grpc runs its done
    callback on its channel's thread: that callback queues the waiting green thread's event and
    writes a byte to a pipe, and one green reader here, woken by the hub, sets every event
    queued (one read for a burst of answers). `tpool.execute` hands each call to an OS thread
    that blocks in it: a thread hand-off more per call when calls overlap (in-process, 64 calls
    at once: ~200-280 us of CPU per call against ~330-420 with tpool), but a little cheaper for
    a call alone (~530-545 us against ~570-590), where grpc's channel thread must wake too: so
    a call made while no other is waiting still goes by `tpool`.
    """

    def __init__(self) -> None:
        self._read_fd, self._write_fd = _real_os.pipe()
        _real_os.set_blocking(self._read_fd, False)
        _real_os.set_blocking(self._write_fd, False)
        self._woken: deque[Event] = deque()  # appended from OS threads: deque is thread-safe
        self.waiting = 0  # green threads waiting for a call, either way
        self._reader = eventlet.spawn(self._read)

    def wait(self, future: grpc.Future) -> Any:
        """The call's result (raises its grpc.RpcError), once grpc has it."""
        done = Event()

        def wake(_: grpc.Future) -> None:  # on grpc's thread (or here, if already done)
            self._woken.append(done)
            # A full pipe means the reader has wake-ups pending: nothing is lost.
            with contextlib.suppress(BlockingIOError):
                _real_os.write(self._write_fd, b"x")

        self.waiting += 1
        try:
            future.add_done_callback(wake)
            done.wait()
        finally:
            self.waiting -= 1
        return future.result()

    def call_in_thread(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """`function(*args, **kwargs)` in one of eventlet's OS threads (`tpool`)."""
        self.waiting += 1
        try:
            return tpool.execute(function, *args, **kwargs)
        finally:
            self.waiting -= 1

    def close(self) -> None:
        self._reader.kill()
        _real_os.close(self._read_fd)
        _real_os.close(self._write_fd)

    def _read(self) -> None:
        while True:
            trampoline(self._read_fd, read=True)
            with contextlib.suppress(BlockingIOError):
                _real_os.read(self._read_fd, 4096)
            while self._woken:
                self._woken.popleft().send(None)


class GrpcLogClient:
    def __init__(
        self, stub: logs_pb2_grpc.LogServiceStub, timeout: float, wakeups: GreenWakeups
    ) -> None:
        self._stub = stub
        self._timeout = timeout
        self._wakeups = wakeups

    def write_log(self, event: OutgoingEvent) -> str:
        """The server's result ("logged!") once the logger stored the entry; the event's id and
        request id go as metadata."""
        entry = logs_pb2.Log(name=event.name, data=event.data, level=event.level)
        metadata = ((IDEMPOTENCY_KEY_METADATA, event.id), (REQUEST_ID_METADATA, event.request_id))
        request = logs_pb2.LogRequest(logEntry=entry)
        try:
            if self._wakeups.waiting:
                # Others are waiting: grpc's thread completes this call among theirs.
                call = self._stub.WriteLog.future(request, timeout=self._timeout, metadata=metadata)
                response = self._wakeups.wait(call)
            else:
                # Alone, a blocking call in an OS thread costs less (no channel thread wake).
                response = self._wakeups.call_in_thread(
                    self._stub.WriteLog, request, timeout=self._timeout, metadata=metadata
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
        self.wakeups = GreenWakeups()

    def stop(self) -> None:
        self.channel.close()  # cancels the calls in flight: their callers are woken
        self.wakeups.close()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> GrpcLogClient:
        return GrpcLogClient(self.stub, self.timeout, self.wakeups)
