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

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pymongo
import pytest
import requests
from nameko.testing.utils import get_extension

from common.config import service_config
from common.ops import Operations
from testing.grpc_server import grpc_server_process
from testing.inbox import Inbox
from testing.infrastructure import (
    MAILDEV_API,
    MONGO_URI,
    POSTGRES_ADMIN_URI,
    SMTP_HOST,
    SMTP_PORT,
)
from testing.late_port import LatePort
from testing.own_mongo import OwnMongo
from testing.ports import free_port
from testing.running_system import RunningSystem

# Private RabbitMQ nodes and clusters (the `rabbit_node` and `rabbit_cluster` fixtures), and
# pytest-timeout's signal method kept under eventlet (a test over its limit fails; the run goes on).
pytest_plugins = ["testing.rabbit_fixtures", "testing.green_timeout"]

# One database per test session, so that two sessions on one machine never share users.
TEST_USERS_DB = f"users_test_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def config_for(rabbit_config: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """A service's own config.yaml, pointed at this test's RabbitMQ vhost, plus overrides."""

    def make(service: str, **overrides: Any) -> dict[str, Any]:
        config = service_config(service)
        config["AMQP_URI"] = rabbit_config["AMQP_URI"]
        # The ops port (/metrics, /health) on a port the kernel picks, never the fixed default.
        config["METRICS_ADDRESS"] = "127.0.0.1:0"
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


@pytest.fixture
def logs(mongo_client: pymongo.MongoClient, mongo_database: str) -> pymongo.collection.Collection:
    """The `logs` collection of this test's MongoDB database, read directly."""
    return mongo_client[mongo_database]["logs"]


@pytest.fixture
def token() -> str:
    """This test's tag for the mail it sends (the catcher is shared: see testing/inbox.py)."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def inbox(maildev: str, token: str) -> Inbox:
    return Inbox(maildev, token)


@pytest.fixture
def grpc_logger_process(mongo_database: str) -> Iterator[str]:
    """`python -m logger.grpc_server` on a free port, writing to this test's database."""
    with grpc_server_process(mongo_database) as server:
        yield server.address


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
    ops_addresses = {}
    for service, config in configs.items():
        runner = runner_factory(config, service)
        runner.start()
        (container,) = runner.containers
        ops = get_extension(container, Operations)
        if ops.address is not None:
            ops_addresses[service.name] = f"127.0.0.1:{ops.port}"
    ops_addresses["broker"] = broker_url.removeprefix("http://")
    ops_addresses["gateway_ui"] = f"127.0.0.1:{page_port}"
    return RunningSystem(
        broker_port=broker_port,
        page_port=page_port,
        xmlrpc_port=xmlrpc_port,
        grpc_target=grpc_logger_process,
        broker_url=broker_url,
        page_url=f"http://127.0.0.1:{page_port}",
        mail_ui_url=maildev,
        mongo_database=mongo_database,
        amqp_uri=configs[BrokerService]["AMQP_URI"],
        ops_addresses=ops_addresses,
    )


@pytest.fixture
def own_mongo(tmp_path: Path) -> Iterator[OwnMongo]:
    """A SecantusDB of this test's own on a free port, which the test may stop and start."""
    mongo = OwnMongo(tmp_path / "mongo", free_port())
    mongo.start()
    yield mongo
    mongo.stop()


@pytest.fixture
def late_ports() -> Iterator[Callable[[tuple[str, int]], LatePort]]:
    made: list[LatePort] = []

    def make(target: tuple[str, int]) -> LatePort:
        made.append(LatePort(target))
        return made[-1]

    yield make
    for late in made:
        late.close()
