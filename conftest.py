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
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pymongo
import pytest
import requests

from common.config import service_config

POSTGRES_ADMIN_URI = os.environ.get(
    "TEST_POSTGRES_ADMIN_URI", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_USERS_DB = "users_test"
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


@pytest.fixture(scope="session")
def users_db_uri() -> str:
    """A fresh `users_test` database with the schema and seed applied by the real command."""
    from auth.migrate import migrate

    admin = psycopg2.connect(POSTGRES_ADMIN_URI)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {TEST_USERS_DB} WITH (FORCE)")
    admin.close()
    uri = POSTGRES_ADMIN_URI.replace("postgresql://", "postgresql+psycopg2://", 1)
    uri = uri.rsplit("/", 1)[0] + f"/{TEST_USERS_DB}"
    migrate(uri)
    return uri


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
def maildev() -> Iterator[str]:
    """maildev's HTTP API base URL, with the inbox emptied before and after the test."""
    requests.delete(f"{MAILDEV_API}/email/all", timeout=5).raise_for_status()
    yield MAILDEV_API
    requests.delete(f"{MAILDEV_API}/email/all", timeout=5)
