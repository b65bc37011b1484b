"""Start order: a service started before RabbitMQ or its database is up waits, then works.

`make up`, Kubernetes or a machine's reboot start everything at once, and nothing makes RabbitMQ,
PostgreSQL or MongoDB answer first. Each service here is a real `nameko run` process whose server
address is a `LatePort`: nothing listens there at first, so connections are refused exactly as
while a server boots. Once the service has tried (and logged that it retries), the port opens and
forwards to the real server; the service must then work, without having crashed or logged a
traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from amqp.exceptions import NotFound
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from testing.infrastructure import MONGO_URI
from testing.late_port import LatePort
from testing.ports import free_port
from testing.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
NAMEKO = Path(sys.executable).parent / "nameko"
RETRY_LINE = "Error connecting to broker at"
WAIT_SECONDS = 30.0


def through(uri: str, late: LatePort) -> str:
    """`uri` with its host and port replaced by the late port's."""
    parts = urlsplit(uri)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{late.port}" if credentials else f"127.0.0.1:{late.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def server_of(uri: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(uri)
    host = parts.hostname if parts.hostname not in (None, "localhost") else "127.0.0.1"
    return host, parts.port or default_port


class ServiceProcess:
    """`nameko run` of one service package, as in the Procfile, its output in a log file."""

    def __init__(self, service: str, env: dict[str, str], log: Path) -> None:
        self.service = service
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [str(NAMEKO), "run", "--config", f"{service}/config.yaml", f"{service}.service"],
            cwd=ROOT,
            env={**env, "METRICS_ADDRESS": "127.0.0.1:0"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


# Every 0.2 s, not faster: `has_consumer` opens an AMQP connection each time.
wait_for = partial(wait_until, timeout=WAIT_SECONDS, interval=0.2)


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    started: list[ServiceProcess] = []

    def start(service: str, **env: str) -> ServiceProcess:
        environment = {**os.environ, "PYTHONWARNINGS": "ignore", **env}
        process = ServiceProcess(service, environment, tmp_path / f"{service}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.process.terminate()
    for process in started:
        process.stop()


def has_consumer(amqp_uri: str, queue: str) -> Callable[[], bool]:
    """Whether `queue` exists and some process consumes it (AMQP's answer, without delay)."""

    def check() -> bool:
        with Connection(amqp_uri) as connection:
            try:
                declared = connection.default_channel.queue_declare(queue, passive=True)
            except NotFound:
                return False
            return declared.consumer_count > 0

    return check


def assert_clean(service: ServiceProcess) -> None:
    output = service.output()
    assert service.process.poll() is None, f"{service.service} exited:\n{output}"
    assert "Traceback" not in output, f"{service.service} logged a traceback:\n{output}"


def test_services_started_before_rabbitmq_work_once_it_is_up(
    rabbit_config, mongo_database, users_db_uri, late_ports, start_service
):
    """The log pipeline (broker -> RabbitMQ -> listener -> logger) and auth, started with
    RabbitMQ down."""
    rabbit = late_ports(server_of(rabbit_config["AMQP_URI"], 5672))
    amqp_uri = through(rabbit_config["AMQP_URI"], rabbit)
    broker_port = free_port()
    services = [
        start_service("broker", AMQP_URI=amqp_uri, BROKER_ADDRESS=f"127.0.0.1:{broker_port}"),
        start_service("listener", AMQP_URI=amqp_uri),
        start_service("auth", AMQP_URI=amqp_uri, DATABASE_URI=users_db_uri),
        start_service(
            "logger",
            AMQP_URI=amqp_uri,
            MONGO_URI=MONGO_URI,
            MONGO_DATABASE=mongo_database,
            LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{free_port()}",
        ),
    ]
    for service in services:
        wait_for(lambda s=service: RETRY_LINE in s.output(), f"{service.service} to retry")

    rabbit.open()

    wait_for(has_consumer(rabbit_config["AMQP_URI"], "rpc-logger"), "the logger to consume")
    wait_for(has_consumer(rabbit_config["AMQP_URI"], "listener.logs"), "the listener to consume")
    data = uuid.uuid4().hex
    response = requests.post(
        f"http://127.0.0.1:{broker_port}/log-rabbit",
        json={"log": {"name": "start-order", "data": data}},
        timeout=10,
    )
    assert response.status_code == 202, response.text

    with ClusterRpcProxy(rabbit_config, timeout=10) as rpc:
        stored = wait_for(
            lambda: [entry for entry in rpc.logger.all(10) if entry["data"] == data],
            "the event to reach MongoDB through the listener and the logger",
        )
        wait_for(has_consumer(rabbit_config["AMQP_URI"], "rpc-auth"), "auth to consume")
        user = rpc.auth.authenticate("admin@example.com", "verysecret")
    assert stored[0]["name"] == "start-order"
    assert user["email"] == "admin@example.com"
    for service in services:
        assert RETRY_LINE in service.output()
        assert_clean(service)


def test_services_started_before_their_database_work_once_it_is_up(
    rabbit_config, users_db_uri, mongo_database, late_ports, start_service
):
    """auth before PostgreSQL, logger before MongoDB: both start, then serve once it is up."""
    postgres = late_ports(server_of(users_db_uri, 5432))
    mongo = late_ports(server_of(MONGO_URI, 27017))
    amqp_uri = rabbit_config["AMQP_URI"]
    services = [
        start_service("auth", AMQP_URI=amqp_uri, DATABASE_URI=through(users_db_uri, postgres)),
        start_service(
            "logger",
            AMQP_URI=amqp_uri,
            MONGO_URI=through(MONGO_URI, mongo),
            MONGO_DATABASE=mongo_database,
            LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{free_port()}",
        ),
    ]
    wait_for(has_consumer(rabbit_config["AMQP_URI"], "rpc-auth"), "auth to start")
    wait_for(has_consumer(rabbit_config["AMQP_URI"], "rpc-logger"), "the logger to start")

    postgres.open()
    mongo.open()

    with ClusterRpcProxy(rabbit_config, timeout=10) as rpc:
        user = rpc.auth.authenticate("admin@example.com", "verysecret")
        assert user["email"] == "admin@example.com"
        # auth announces the login; the logger stores it in MongoDB.
        stored = wait_for(
            lambda: [entry for entry in rpc.logger.all(10) if entry["name"] == "authentication"],
            "the logger to store the authentication",
        )
    assert stored[0]["data"] == "admin@example.com logged in"
    for service in services:
        assert_clean(service)
