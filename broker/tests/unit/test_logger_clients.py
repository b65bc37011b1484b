"""The logger clients' error mapping and lifecycle, with the transports stubbed out
(the real servers: tests/interface/test_logger_clients.py)."""

import http.client
import socketserver
import xmlrpc.client
import xmlrpc.server
from concurrent.futures import Future
from unittest.mock import Mock

import eventlet
import grpc
import pytest
from eventlet import patcher
from eventlet.pools import Pool
from grpc._cython import cygrpc

from broker.logger_clients import (
    GreenWakeups,
    GrpcLogClient,
    GrpcLogger,
    XmlRpcLogClient,
    XmlRpcLogger,
)
from broker.payloads import OutgoingEvent
from common.config import service_config
from common.errors import (
    DownstreamError,
    DownstreamUnavailable,
    InvalidInput,
    ServiceUnavailable,
)
from protos import logs_pb2

EVENT = OutgoingEvent("n", "d", "WARNING", id="event-1", request_id="req-1")


def xmlrpc_client(log_info):
    proxy = Mock()
    proxy.RPCServer.LogInfo.side_effect = log_info
    pool = Pool(max_size=1, create=lambda: proxy)
    return XmlRpcLogClient(pool, timeout=5), pool


def test_xmlrpc_log_info_sends_the_go_struct_and_returns_the_answer():
    sent = []
    client, pool = xmlrpc_client(
        lambda payload: sent.append(payload) or "Processed payload via RPC: n"
    )

    assert client.log_info(EVENT) == "Processed payload via RPC: n"
    assert sent == [{"Name": "n", "Data": "d", "Level": "WARNING"}]
    (proxy,) = [pool.get()]
    proxy.assert_called_with("transport")
    assert proxy("transport").call_headers == [
        ("Idempotency-Key", "event-1"),
        ("X-Request-ID", "req-1"),
    ]
    pool.put(proxy)
    assert pool.free() == 1, "the proxy went back to the pool"


@pytest.mark.parametrize(
    ("failure", "error", "message"),
    [
        (
            xmlrpc.client.Fault(400, "payload.Name must not be empty"),
            InvalidInput,
            "payload.Name must not be empty",
        ),
        (
            xmlrpc.client.Fault(504, "log storage is unavailable"),
            DownstreamUnavailable,
            "log storage is unavailable",
        ),
        (
            xmlrpc.client.Fault(503, "the service is shutting down"),
            ServiceUnavailable,
            "the service is shutting down",
        ),
        (
            xmlrpc.client.Fault(500, "internal error"),
            DownstreamError,
            "the logger failed: internal error",
        ),
        (
            ConnectionRefusedError(111, "Connection refused"),
            ServiceUnavailable,
            "the logger's XML-RPC server is unreachable",
        ),
        (
            http.client.RemoteDisconnected("closed"),
            ServiceUnavailable,
            "the logger's XML-RPC server is unreachable",
        ),
        (TimeoutError("timed out"), DownstreamUnavailable, "the logger did not answer within 5 s"),
        (
            xmlrpc.client.ProtocolError("logger/", 502, "Bad Gateway", {}),
            DownstreamError,
            "the logger's XML-RPC server failed",
        ),
        (
            xmlrpc.client.ResponseError("bad response"),
            DownstreamError,
            "the logger's XML-RPC server failed",
        ),
    ],
    ids=[
        "fault-400",
        "fault-504",
        "fault-503",
        "fault-500",
        "refused",
        "disconnected",
        "timeout",
        "http-error",
        "bad-response",
    ],
)
def test_xmlrpc_failures_map_to_service_errors(failure, error, message):
    client, pool = xmlrpc_client(failure)

    with pytest.raises(error) as raised:
        client.log_info(EVENT)

    assert raised.value.message == message
    assert pool.free() == 1, "a failed call still returns its proxy to the pool"


def broker_container(url: str) -> Mock:
    config = {**service_config("broker"), "LOGGER_XMLRPC_URL": url, "LOGGER_XMLRPC_TIMEOUT": 2}
    return Mock(config=config, max_workers=3)


def test_xmlrpc_logger_pools_proxies_up_to_max_workers():
    container = broker_container("http://127.0.0.1:9/")
    provider = XmlRpcLogger().bind(container, "xmlrpc_logger")
    provider.setup()

    assert provider.proxies.max_size == 3
    assert provider.timeout == 2.0
    assert isinstance(provider.get_dependency(Mock()), XmlRpcLogClient)
    with provider.proxies.item() as proxy:
        assert isinstance(proxy, xmlrpc.client.ServerProxy)
    assert provider.proxies.free() == 3


class KeepAliveHandler(xmlrpc.server.SimpleXMLRPCRequestHandler):
    """HTTP/1.1, so that a client keeps its connection; counts the connections still open."""

    protocol_version = "HTTP/1.1"
    open_connections = 0

    def setup(self):
        super().setup()
        type(self).open_connections += 1

    def finish(self):
        type(self).open_connections -= 1
        super().finish()


class KeepAliveServer(socketserver.ThreadingMixIn, xmlrpc.server.SimpleXMLRPCServer):
    daemon_threads = True


@pytest.fixture
def keepalive_server():
    KeepAliveHandler.open_connections = 0
    server = KeepAliveServer(("127.0.0.1", 0), KeepAliveHandler, logRequests=False)
    server.register_function(lambda payload: "ok", "RPCServer.LogInfo")
    thread = eventlet.spawn(server.serve_forever, poll_interval=0.05)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.wait()


def test_stop_closes_every_connection_the_pool_opened_idle_or_in_use(keepalive_server):
    container = broker_container(keepalive_server)
    provider = XmlRpcLogger().bind(container, "xmlrpc_logger")
    provider.setup()

    with provider.proxies.item() as in_use:
        assert in_use.RPCServer.LogInfo({"Name": "n", "Data": "d"}) == "ok"
        with provider.proxies.item() as idle:
            assert idle.RPCServer.LogInfo({"Name": "n", "Data": "d"}) == "ok"
        assert KeepAliveHandler.open_connections == 2

        provider.stop()  # one proxy is back in the pool, the other is still out

        with eventlet.Timeout(5, AssertionError("a connection was left open")):
            while KeepAliveHandler.open_connections:
                eventlet.sleep(0.01)


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


def grpc_client(write_log):
    """`write_log`: the server's answer to a call, or the error it fails with."""
    answer = Mock(side_effect=write_log)

    def start_call(request, timeout, metadata):
        call = Future()  # done at once: grpc's callback runs in the caller, as grpc does then
        try:
            call.set_result(answer(request, timeout=timeout, metadata=metadata))
        except grpc.RpcError as exc:
            call.set_exception(exc)
        return call

    stub = Mock()
    stub.WriteLog.side_effect = answer  # a call alone: blocking, in an OS thread
    stub.WriteLog.future.side_effect = start_call  # while others wait: grpc's future
    return GrpcLogClient(stub, timeout=1, wakeups=GreenWakeups()), stub, answer


@pytest.fixture(params=["alone", "overlapping"])
def overlapping(request, monkeypatch):
    """Run the test for a call made alone and for one made while other calls wait."""
    if request.param == "overlapping":
        original = GreenWakeups.__init__

        def init(self):
            original(self)
            self.waiting = 1

        monkeypatch.setattr(GreenWakeups, "__init__", init)
    return request.param


def test_grpc_write_log_sends_the_entry_with_the_deadline(overlapping):
    client, stub, answer = grpc_client(
        lambda request, timeout, metadata: logs_pb2.LogResponse(result="logged!")
    )

    assert client.write_log(EVENT) == "logged!"
    assert (stub.WriteLog.future.called, stub.WriteLog.called) == (
        (True, False) if overlapping == "overlapping" else (False, True)
    )
    entry = answer.call_args.args[0].logEntry
    assert (entry.name, entry.data, entry.level) == ("n", "d", "WARNING")
    assert answer.call_args.kwargs == {
        "timeout": 1,
        "metadata": (("idempotency-key", "event-1"), ("x-request-id", "req-1")),
    }


@pytest.mark.parametrize(
    ("code", "details", "error", "message"),
    [
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "name must not be empty",
            InvalidInput,
            "name must not be empty",
        ),
        (
            grpc.StatusCode.DEADLINE_EXCEEDED,
            "Deadline Exceeded",
            DownstreamUnavailable,
            "the logger did not answer within 1 s",
        ),
        (
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to ipv4:10.0.0.7:50001",
            ServiceUnavailable,
            "the logger's gRPC server is unavailable",
        ),
        (
            grpc.StatusCode.INTERNAL,
            "internal error",
            DownstreamError,
            "the logger's gRPC server failed",
        ),
        (
            grpc.StatusCode.UNIMPLEMENTED,
            "Method not found!",
            DownstreamError,
            "the logger's gRPC server failed",
        ),
    ],
    ids=["invalid", "deadline", "unavailable", "internal", "unimplemented"],
)
def test_grpc_status_codes_map_to_service_errors(code, details, error, message, overlapping):
    client, _, _ = grpc_client(FakeRpcError(code, details))

    with pytest.raises(error) as raised:
        client.write_log(EVENT)

    assert raised.value.message == message


def test_grpc_logger_opens_one_channel_in_setup_and_closes_it_on_stop():
    config = {
        **service_config("broker"),
        "LOGGER_GRPC_TARGET": "127.0.0.1:9",
        "LOGGER_GRPC_TIMEOUT": 0.5,
    }
    container = Mock(config=config)
    provider = GrpcLogger().bind(container, "grpc_logger")
    provider.setup()

    assert cygrpc.threading is patcher.original("threading"), "grpc locks with OS locks"
    first, second = provider.get_dependency(Mock()), provider.get_dependency(Mock())
    assert first._stub is second._stub is provider.stub
    assert provider.timeout == 0.5

    provider.stop()
    with pytest.raises(ValueError, match="closed channel"):
        provider.stub.WriteLog(logs_pb2.LogRequest(), timeout=0.5)


def test_xmlrpc_dials_again_once_when_the_server_closed_a_kept_alive_connection():
    """The server answers one call per connection and then closes it without saying so (as
    one whose idle timeout passed): the next call is sent again on a new connection."""
    answer = xmlrpc.client.dumps(("ok",), methodresponse=True).encode()
    listener = eventlet.listen(("127.0.0.1", 0))
    connections = []

    def serve():
        while True:
            sock, _ = listener.accept()
            connections.append(sock)
            request = b""
            while b"</methodCall>" not in request:
                request += sock.recv(65536)
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(answer)}\r\n\r\n".encode()
            sock.sendall(head + answer)
            sock.close()

    server = eventlet.spawn(serve)
    try:
        container = broker_container(f"http://127.0.0.1:{listener.getsockname()[1]}/")
        provider = XmlRpcLogger().bind(container, "xmlrpc_logger")
        provider.setup()
        client = provider.get_dependency(Mock())
        assert client.log_info(EVENT) == "ok"
        eventlet.sleep(0.05)  # the server has closed
        assert client.log_info(EVENT) == "ok"
        assert len(connections) == 2
        provider.stop()
    finally:
        server.kill()
        listener.close()
