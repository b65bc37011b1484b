"""Shared pytest fixtures for every service's tests and the cross-service flows in `tests/`.

Infrastructure is real: `make test` starts RabbitMQ, PostgreSQL, SecantusDB and maildev before
pytest runs, and a fixture that cannot reach its server fails loudly (never skips).
"""

import warnings

with warnings.catch_warnings():
    # Nameko 2 is built on eventlet, which now warns that it is in maintenance mode.
    warnings.simplefilter("ignore", DeprecationWarning)
    import eventlet

# Before anything imports socket, threading or ssl: Nameko runs on green threads.
eventlet.monkey_patch()

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg2
import pymongo
import pytest
import requests
from eventlet.greenio import GreenSocket

from common.config import ROOT, service_config

# Private RabbitMQ nodes and clusters: the `rabbit_node` and `rabbit_cluster` fixtures.
pytest_plugins = ["testing.rabbit_fixtures"]

POSTGRES_ADMIN_URI = os.environ.get(
    "TEST_POSTGRES_ADMIN_URI", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# One database per test session, so that two sessions on one machine never share users.
TEST_USERS_DB = f"users_test_{uuid.uuid4().hex[:8]}"
MONGO_URI = os.environ.get("TEST_MONGO_URI", "mongodb://127.0.0.1:27017")
SMTP_HOST = os.environ.get("TEST_SMTP_HOST", "127.0.0.1")
SMTP_PORT = int(os.environ.get("TEST_SMTP_PORT", "1025"))
MAILDEV_API = os.environ.get("TEST_MAILDEV_API", "http://127.0.0.1:8025")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def config_for(rabbit_config: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """A service's own config.yaml, pointed at this test's RabbitMQ vhost, plus overrides."""

    def make(service: str, **overrides: Any) -> dict[str, Any]:
        config = service_config(service)
        config["AMQP_URI"] = rabbit_config["AMQP_URI"]
        config.update(overrides)
        return config

    return make


def _drop_users_db() -> None:
    admin = psycopg2.connect(POSTGRES_ADMIN_URI)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {TEST_USERS_DB} WITH (FORCE)")
    admin.close()


@pytest.fixture(scope="session")
def users_db_uri() -> Iterator[str]:
    """A fresh users database with the schema and seed applied by the real command."""
    from auth.migrate import migrate

    _drop_users_db()
    uri = POSTGRES_ADMIN_URI.replace("postgresql://", "postgresql+psycopg2://", 1)
    uri = uri.rsplit("/", 1)[0] + f"/{TEST_USERS_DB}"
    migrate(uri)
    yield uri
    _drop_users_db()


@pytest.fixture
def mongo_database() -> Iterator[str]:
    """The name of an empty MongoDB database for one test, dropped afterwards."""
    name = f"logs_test_{uuid.uuid4().hex[:12]}"
    yield name
    client = pymongo.MongoClient(MONGO_URI, serverSelectionTimeoutMS=3000)
    client.drop_database(name)
    client.close()


@pytest.fixture
def mongo_client() -> Iterator[pymongo.MongoClient]:
    client = pymongo.MongoClient(MONGO_URI, serverSelectionTimeoutMS=3000)
    yield client
    client.close()


@pytest.fixture
def maildev() -> str:
    """maildev's HTTP API base URL. The catcher is shared (by test sessions too): a test looks
    only at mail carrying its own token, never empties the inbox."""
    requests.get(f"{MAILDEV_API}/email", timeout=5).raise_for_status()
    return MAILDEV_API


@dataclass(frozen=True)
class RunningSystem:
    broker_url: str
    page_url: str
    mail_ui_url: str
    mongo_database: str
    amqp_uri: str


def wait_for_port(port: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


@pytest.fixture
def grpc_logger_process(mongo_database: str) -> Iterator[str]:
    """`python -m logger.grpc_server` on a free port, writing to this test's database."""
    port = free_port()
    env = {
        **os.environ,
        "LOGGER_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "MONGO_DATABASE": mongo_database,
    }
    process = subprocess.Popen([sys.executable, "-m", "logger.grpc_server"], cwd=ROOT, env=env)
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def running_system(
    runner_factory, config_for, users_db_uri, mongo_database, maildev, grpc_logger_process
) -> RunningSystem:
    from auth.service import AuthService
    from broker.service import BrokerService
    from gateway_ui.service import GatewayUiService
    from listener.service import ListenerService
    from logger.service import LoggerService
    from mailer.service import MailerService

    broker_port, xmlrpc_port, page_port = free_port(), free_port(), free_port()
    broker_url = f"http://127.0.0.1:{broker_port}"
    configs = {
        BrokerService: config_for(
            "broker",
            WEB_SERVER_ADDRESS=f"127.0.0.1:{broker_port}",
            LOGGER_XMLRPC_URL=f"http://127.0.0.1:{xmlrpc_port}/",
            LOGGER_GRPC_TARGET=grpc_logger_process,
        ),
        AuthService: config_for("auth", DB_URIS={"auth:Base": users_db_uri}),
        LoggerService: config_for(
            "logger",
            MONGO_DATABASE=mongo_database,
            LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{xmlrpc_port}",
        ),
        ListenerService: config_for("listener"),
        MailerService: config_for("mailer", MAIL_HOST=SMTP_HOST, MAIL_PORT=SMTP_PORT),
        GatewayUiService: config_for(
            "gateway_ui",
            WEB_SERVER_ADDRESS=f"127.0.0.1:{page_port}",
            BROKER_URL=broker_url,
            MAIL_UI_URL=maildev,
        ),
    }
    for service, config in configs.items():
        runner_factory(config, service).start()
    return RunningSystem(
        broker_url=broker_url,
        page_url=f"http://127.0.0.1:{page_port}",
        mail_ui_url=maildev,
        mongo_database=mongo_database,
        amqp_uri=configs[BrokerService]["AMQP_URI"],
    )


class LatePort:
    """A local port that refuses connections until `open()`, then forwards them to `target`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._threads: list[Any] = []
        self._sockets: list[GreenSocket] = []

    def open(self) -> None:
        listener = eventlet.listen(("127.0.0.1", self.port))
        self._sockets.append(listener)
        self._threads.append(eventlet.spawn(self._accept, listener))

    def close(self) -> None:
        for thread in self._threads:
            thread.kill()
        for sock in self._sockets:
            sock.close()

    def _accept(self, listener: GreenSocket) -> None:
        while True:
            client, _ = listener.accept()
            upstream = eventlet.connect(self.target)
            self._sockets += [client, upstream]
            self._threads += [
                eventlet.spawn(self._pipe, client, upstream),
                eventlet.spawn(self._pipe, upstream, client),
            ]

    @staticmethod
    def _pipe(source: GreenSocket, sink: GreenSocket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(2)
        except OSError:
            pass


@pytest.fixture
def late_ports() -> Iterator[Callable[[tuple[str, int]], LatePort]]:
    made: list[LatePort] = []

    def make(target: tuple[str, int]) -> LatePort:
        made.append(LatePort(target))
        return made[-1]

    yield make
    for late in made:
        late.close()
