"""RPCServer.LogInfo called by the standard XML-RPC client, as another program would call it."""

import http.client
import socket
import xmlrpc.client
from dataclasses import dataclass

import eventlet
import pytest
from nameko.containers import ServiceContainer
from nameko.testing.services import replace_dependencies

from common.errors import DownstreamUnavailable
from logger.service import LoggerService

LOG_INFO = "RPCServer.LogInfo"


@pytest.fixture
def address(logger_config):
    return logger_config["LOGGER_XMLRPC_ADDRESS"]


@pytest.fixture
def proxy(logger_container, address):
    with xmlrpc.client.ServerProxy(f"http://{address}/") as proxy:
        yield proxy


def post(address, body: bytes, method="POST") -> http.client.HTTPResponse:
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(method, "/", body=body, headers={"Content-Type": "text/xml"})
    return connection.getresponse()


def test_log_info_stores_the_entry(proxy, logs):
    answer = proxy.RPCServer.LogInfo({"Name": "event", "Data": "payload"})

    assert answer == "Processed payload via RPC: event"
    document = logs.find_one()
    assert (document["name"], document["data"]) == ("event", "payload")
    assert document["created_at"] == document["updated_at"]


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (({"Name": "", "Data": "payload"},), 400, "payload.Name must not be empty"),
        (({"Data": "payload"},), 400, "payload.Name is required"),
        (({"Name": "x" * 256, "Data": "payload"},), 400, "payload.Name must be at most 255"),
        (({"Name": "event", "Data": "x" * 65537},), 400, "payload.Data must be at most 64 KiB"),
        (({"Name": "event", "Data": 42},), 400, "payload.Data must be a string"),
        (("event",), 400, "payload must be an object"),
        ((), 400, "RPCServer.LogInfo takes (payload), got 0"),
        (({"Name": "a", "Data": "b"}, "extra"), 400, "RPCServer.LogInfo takes (payload), got 2"),
    ],
    ids=[
        "empty-name",
        "no-name",
        "long-name",
        "big-data",
        "data-number",
        "not-a-struct",
        "no-params",
        "extra-param",
    ],
)
def test_bad_input_is_a_fault_naming_the_problem(proxy, logs, params, code, message):
    with pytest.raises(xmlrpc.client.Fault) as raised:
        getattr(proxy, LOG_INFO)(*params)

    assert raised.value.faultCode == code
    assert raised.value.faultString.startswith(message)
    assert "Traceback" not in raised.value.faultString
    assert logs.count_documents({}) == 0


def test_an_unknown_method_is_a_404_fault(proxy):
    with pytest.raises(xmlrpc.client.Fault) as raised:
        proxy.RPCServer.Nothing({"Name": "event", "Data": "payload"})

    assert (raised.value.faultCode, raised.value.faultString) == (
        404,
        "unknown method 'RPCServer.Nothing'",
    )


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"<methodCall><methodName>RPCServer.LogInfo", 400, "malformed XML-RPC request"),
        (b"not xml at all", 400, "malformed XML-RPC request"),
        (b"<?xml version='1.0'?><methodCall>" + b" " * 1024 * 1024, 413, "request body over 1 MiB"),
    ],
    ids=["truncated", "not-xml", "too-large"],
)
def test_an_unreadable_request_is_a_fault(logger_container, address, body, code, message):
    response = post(address, body)

    assert response.status == 200
    with pytest.raises(xmlrpc.client.Fault) as raised:
        xmlrpc.client.loads(response.read())
    assert (raised.value.faultCode, raised.value.faultString) == (code, message)


def test_only_post_is_served(logger_container, address):
    response = post(address, b"", method="GET")

    assert response.status == 405
    assert response.getheader("Allow") == "POST"


def test_a_connection_is_kept_alive_across_calls(logger_container, address):
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    sockets = []
    for number in range(3):
        body = xmlrpc.client.dumps(({"Name": f"event-{number}", "Data": "payload"},), LOG_INFO)
        connection.request("POST", "/", body=body, headers={"Content-Type": "text/xml"})
        response = connection.getresponse()
        assert xmlrpc.client.loads(response.read())[0] == (
            f"Processed payload via RPC: event-{number}",
        )
        assert response.getheader("Connection") != "close"
        sockets.append(connection.sock)

    assert sockets[0] is not None
    assert sockets == [sockets[0]] * 3, "every call went over the first connection"
    connection.close()


def test_a_client_stalled_mid_request_does_not_hold_up_others(proxy, address, logs):
    body = xmlrpc.client.dumps(({"Name": "stalled", "Data": "payload"},), LOG_INFO).encode()
    host, port = address.split(":")
    stalled = socket.create_connection((host, int(port)))
    stalled.sendall(
        b"POST / HTTP/1.1\r\nHost: logger\r\nContent-Type: text/xml\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body[:20]
    )

    # The stdlib's one-at-a-time server would wait for the rest of that body here.
    assert proxy.RPCServer.LogInfo({"Name": "other", "Data": "payload"}).endswith("other")

    stalled.sendall(body[20:])
    reply = stalled.makefile("rb").read1(65536)
    stalled.close()
    assert reply.startswith(b"HTTP/1.1 200")
    assert b"Processed payload via RPC: stalled" in reply
    assert sorted(document["name"] for document in logs.find()) == ["other", "stalled"]


@dataclass
class SlowStorageLogger:
    """A logger whose storage blocks on an entry named "slow": `started` is sent when that call
    reached the storage, and the storage answers once `release` is sent."""

    container: ServiceContainer
    started: eventlet.event.Event
    release: eventlet.event.Event

    def call_slowly(self, url):
        proxy = xmlrpc.client.ServerProxy(url)
        slow = eventlet.spawn(proxy.RPCServer.LogInfo, {"Name": "slow", "Data": "payload"})
        self.started.wait()
        return slow


@pytest.fixture
def slow_storage_logger(container_factory, logger_config):
    container = container_factory(LoggerService, logger_config)
    writes = replace_dependencies(container, "grouped_writes")
    logger = SlowStorageLogger(container, eventlet.event.Event(), eventlet.event.Event())

    def submit(entry):
        if entry["name"] == "slow":
            logger.started.send()
            logger.release.wait()

    writes.submit.side_effect = submit
    container.start()
    return logger


def test_a_slow_call_does_not_hold_up_others(slow_storage_logger, address):
    url = f"http://{address}/"
    slow = slow_storage_logger.call_slowly(url)

    with xmlrpc.client.ServerProxy(url) as fast:
        answer = fast.RPCServer.LogInfo({"Name": "fast", "Data": "payload"})
    assert answer == "Processed payload via RPC: fast"
    assert not slow.dead, "the slow call is still running"

    slow_storage_logger.release.send()
    assert slow.wait() == "Processed payload via RPC: slow"


def test_stopping_waits_for_a_call_in_progress(slow_storage_logger, address):
    slow = slow_storage_logger.call_slowly(f"http://{address}/")

    stopping = eventlet.spawn(slow_storage_logger.container.stop)
    eventlet.sleep(0.2)
    assert not stopping.dead, "stop() waits for the call in progress"

    slow_storage_logger.release.send()
    assert slow.wait() == "Processed payload via RPC: slow"
    stopping.wait()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(tuple(address.split(":")), timeout=5)


def test_many_concurrent_calls_are_all_stored(proxy, address, logs):
    url = f"http://{address}/"

    def log_info(number):
        with xmlrpc.client.ServerProxy(url) as client:
            return client.RPCServer.LogInfo({"Name": f"event-{number}", "Data": "payload"})

    answers = list(eventlet.GreenPool(50).imap(log_info, range(100)))

    assert answers == [f"Processed payload via RPC: event-{number}" for number in range(100)]
    assert logs.count_documents({}) == 100


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        (DownstreamUnavailable("log storage is unavailable"), 504, "log storage is unavailable"),
        (RuntimeError("mongodb://admin:secret@db failed"), 500, "internal error"),
    ],
    ids=["storage-down", "unexpected-error"],
)
def test_server_side_failures_are_faults_without_internals(
    container_factory, logger_config, address, failure, code, message
):
    container = container_factory(LoggerService, logger_config)
    writes = replace_dependencies(container, "grouped_writes")
    writes.submit.side_effect = failure
    container.start()
    url = f"http://{address}/"

    with pytest.raises(xmlrpc.client.Fault) as raised:
        xmlrpc.client.ServerProxy(url).RPCServer.LogInfo({"Name": "event", "Data": "payload"})

    assert (raised.value.faultCode, raised.value.faultString) == (code, message)
