"""The broker's logger clients in a real container, against the real logger servers: the Nameko
LoggerService's XML-RPC server and the `python -m logger.grpc_server` process.

This process is eventlet-patched like the broker, so these tests also prove that the gRPC client
works under eventlet: concurrent calls from green threads, and a pending call never stalls the hub.
"""

import socket
from unittest import mock

import eventlet
import pytest
from nameko.extensions import Entrypoint
from nameko.testing.services import dummy, entrypoint_hook
from nameko.testing.utils import get_extension

from broker.logger_clients import GrpcLogger, XmlRpcLogger
from broker.payloads import OutgoingEvent
from common.errors import DownstreamUnavailable, InvalidInput, ServiceUnavailable
from common.ids import new_id
from logger.service import LoggerService
from testing.grpc_server import grpc_server_process
from testing.ports import free_port


class LoggerClientsService:
    """Stands in for the broker: one entrypoint per client."""

    name = "logger_clients"

    xmlrpc_logger = XmlRpcLogger()
    grpc_logger = GrpcLogger()

    @dummy
    def log_via_xmlrpc(self, name, data):
        return self.xmlrpc_logger.log_info(OutgoingEvent(name, data, "INFO", new_id(), "req"))

    @dummy
    def log_via_grpc(self, name, data):
        return self.grpc_logger.write_log(OutgoingEvent(name, data, "INFO", new_id(), "req"))


@pytest.fixture
def start_clients(container_factory, config_for):
    """Start the clients' container with the broker's config.yaml plus overrides."""

    def start(**overrides):
        defaults = {
            "LOGGER_XMLRPC_URL": f"http://127.0.0.1:{free_port()}/",
            "LOGGER_GRPC_TARGET": f"127.0.0.1:{free_port()}",
        }
        container = container_factory(
            LoggerClientsService, config_for("broker", **{**defaults, **overrides})
        )
        container.start()
        return container

    return start


@pytest.fixture
def xmlrpc_url(container_factory, config_for, mongo_database):
    address = f"127.0.0.1:{free_port()}"
    config = config_for("logger", MONGO_DATABASE=mongo_database, LOGGER_XMLRPC_ADDRESS=address)
    container_factory(LoggerService, config).start()
    return f"http://{address}/"


@pytest.fixture
def grpc_target(mongo_database):
    with grpc_server_process(mongo_database) as server:
        yield server.address


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers."""
    sock = eventlet.listen(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def call_concurrently(container, method_name, count):
    """Call an entrypoint from `count` green threads at once, each getting its own result.

    (entrypoint_hook cannot be used concurrently: it returns the result of whichever worker of
    that entrypoint finishes first.)
    """
    entrypoint = get_extension(container, Entrypoint, method_name=method_name)

    def call(number):
        done = eventlet.event.Event()

        def handle_result(worker_ctx, result, exc_info):
            done.send(result, exc_info)
            return result, exc_info

        container.spawn_worker(
            entrypoint, (f"event-{number}", "payload"), {}, handle_result=handle_result
        )
        return done.wait()

    return list(eventlet.GreenPool(count).imap(call, range(count)))


@pytest.mark.parametrize(
    ("setting", "server", "entrypoint", "answer"),
    [
        ("LOGGER_XMLRPC_URL", "xmlrpc_url", "log_via_xmlrpc", "Processed payload via RPC: event"),
        ("LOGGER_GRPC_TARGET", "grpc_target", "log_via_grpc", "logged!"),
    ],
    ids=["xmlrpc", "grpc"],
)
def test_a_log_call_is_answered_and_stored(
    request, start_clients, logs, setting, server, entrypoint, answer
):
    container = start_clients(**{setting: request.getfixturevalue(server)})

    with entrypoint_hook(container, entrypoint) as log:
        assert log("event", "payload") == answer

    document = logs.find_one()
    assert (document["name"], document["data"]) == ("event", "payload")


def test_xmlrpc_calls_reuse_kept_alive_connections(start_clients, xmlrpc_url, logs):
    container = start_clients(LOGGER_XMLRPC_URL=xmlrpc_url, max_workers=40)
    with mock.patch.object(
        socket, "create_connection", side_effect=socket.create_connection
    ) as connects:
        for number in range(10):
            with entrypoint_hook(container, "log_via_xmlrpc") as log_via_xmlrpc:
                log_via_xmlrpc(f"sequential-{number}", "payload")
        assert connects.call_count == 1, "sequential calls share one connection"

        answers = call_concurrently(container, "log_via_xmlrpc", 32)
        assert answers == [f"Processed payload via RPC: event-{number}" for number in range(32)]
        assert connects.call_count <= 32, "at most one connection per concurrent call"

    assert logs.count_documents({}) == 42


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        ("logger", InvalidInput, "payload.Name must not be empty"),
        ("nothing", ServiceUnavailable, "the logger's XML-RPC server is unreachable"),
        ("silent", DownstreamUnavailable, "the logger did not answer within 0.3 s"),
    ],
)
def test_xmlrpc_failures(request, start_clients, silent_server, target, error, message):
    urls = {
        "logger": lambda: request.getfixturevalue("xmlrpc_url"),
        "nothing": lambda: f"http://127.0.0.1:{free_port()}/",
        "silent": lambda: f"http://{silent_server}/",
    }
    container = start_clients(LOGGER_XMLRPC_URL=urls[target](), LOGGER_XMLRPC_TIMEOUT=0.3)

    with (
        entrypoint_hook(container, "log_via_xmlrpc") as log_via_xmlrpc,
        pytest.raises(error) as raised,
    ):
        log_via_xmlrpc("", "payload")

    assert raised.value.message == message


def test_grpc_calls_from_many_green_threads_share_one_channel(start_clients, grpc_target, logs):
    container = start_clients(LOGGER_GRPC_TARGET=grpc_target, max_workers=40)

    assert call_concurrently(container, "log_via_grpc", 32) == ["logged!"] * 32
    assert call_concurrently(container, "log_via_grpc", 32) == ["logged!"] * 32
    assert logs.count_documents({}) == 64


def test_a_grpc_call_past_its_deadline_is_unavailable_and_never_stalls_the_hub(
    start_clients, silent_server
):
    container = start_clients(LOGGER_GRPC_TARGET=silent_server, LOGGER_GRPC_TIMEOUT=0.5)

    def call_silent_server():
        with entrypoint_hook(container, "log_via_grpc") as log_via_grpc:
            log_via_grpc("event", "payload")

    pending = eventlet.spawn(call_silent_server)
    eventlet.sleep(0)
    other_green_thread = eventlet.spawn(lambda: "ran")
    assert other_green_thread.wait() == "ran"
    assert not pending.dead, "the hub ran other green threads while the gRPC call was pending"

    with pytest.raises(DownstreamUnavailable, match=r"the logger did not answer within 0\.5 s"):
        pending.wait()


@pytest.mark.parametrize(
    ("target", "name", "error", "message"),
    [
        ("logger", "", InvalidInput, "name must not be empty"),
        ("nothing", "event", ServiceUnavailable, "the logger's gRPC server is unavailable"),
    ],
)
def test_grpc_failures(request, start_clients, target, name, error, message):
    targets = {
        "logger": lambda: request.getfixturevalue("grpc_target"),
        "nothing": lambda: f"127.0.0.1:{free_port()}",
    }
    container = start_clients(LOGGER_GRPC_TARGET=targets[target]())

    with entrypoint_hook(container, "log_via_grpc") as log_via_grpc, pytest.raises(error) as raised:
        log_via_grpc(name, "payload")

    assert raised.value.message == message
