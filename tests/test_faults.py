"""Issue 9's faults, on the real system: every service its own process (as `make run` starts
them) on a private RabbitMQ node that the tests restart, stop and start under load.

What each test guarantees: no service process exits; while a server is away the routes answer
202 or a clear 503/504 (never a 500, never no answer); once it is back everything works within
seconds; every event that got a 202 is stored exactly once (found by its unique data), and the
dead-letter queue stays empty.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import eventlet
import pymongo
import pytest
import requests
from amqp.exceptions import NotFound
from kombu import Connection

from common.log_topology import LISTENER_QUEUE
from listener.queues import DEAD_LETTER_QUEUE, RETRY_QUEUE
from testing.infrastructure import MONGO_URI, SMTP_HOST, SMTP_PORT
from testing.load import LogLoad
from testing.rabbit_nodes import RabbitNode
from testing.service_processes import Servers, ServiceProcesses
from testing.waiting import wait_until

log = logging.getLogger(__name__)

OUTAGE_SECONDS = 10
SIGN_IN = {"action": "auth", "auth": {"email": "admin@example.com", "password": "verysecret"}}
# What a route may answer while a server it needs is away.
CLEAR_REFUSALS = {503, 504}

# Each test starts the whole system and waits through real outages and recoveries.
pytestmark = pytest.mark.timeout(420)


@pytest.fixture
def amqp_uri(rabbit_node: RabbitNode) -> Iterator[str]:
    """A vhost of this test's own on the module's private node."""
    vhost = f"faults-{time.monotonic_ns()}"
    rabbit_node.ctl("add_vhost", vhost)
    rabbit_node.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield rabbit_node.amqp_uri.rstrip("/") + f"/{vhost}"
    rabbit_node.ensure_running()
    rabbit_node.ctl("delete_vhost", vhost)


def start_system(amqp_uri: str, mongo_uri: str, database: str, users_db_uri: str, tmp: Path):
    servers = Servers(amqp_uri, mongo_uri, database, users_db_uri, SMTP_HOST, SMTP_PORT)
    return ServiceProcesses(servers, tmp / "service-logs")


class Calls:
    """A sign-in and a log listing once a second, beside the load: their answers, in order."""

    def __init__(self, broker_url: str) -> None:
        self.broker_url = broker_url
        self.answers: list[tuple[str, int]] = []
        self._headers: dict[str, str] = {}  # the last sign-in's token: GET /logs needs one
        self._running = True
        self._thread = eventlet.spawn(self._run)

    def _run(self) -> None:
        while self._running:
            signed_in = self._call("POST", "/handle", SIGN_IN)
            if signed_in is not None and signed_in.status_code == 202:
                token = signed_in.json()["data"]["access_token"]
                self._headers = {"Authorization": f"Bearer {token}"}
            self.answers.append(("auth", signed_in.status_code if signed_in is not None else 0))
            if self._headers:  # no listing before a first sign-in: it would be a 401
                listed = self._call("GET", "/logs?limit=5", None)
                self.answers.append(("logs", listed.status_code if listed is not None else 0))
            eventlet.sleep(1)

    def _call(self, method: str, path: str, body: object) -> requests.Response | None:
        try:
            return requests.request(
                method, f"{self.broker_url}{path}", json=body, headers=self._headers, timeout=10
            )
        except requests.RequestException:
            return None

    def stop(self) -> None:
        self._running = False
        self._thread.wait()


def every_route_answers(broker_url: str) -> bool:
    try:
        return _every_route_answers(broker_url)
    except requests.RequestException:  # the broker itself is still starting
        return False


def _every_route_answers(broker_url: str) -> bool:
    for transport in ("rabbit", "rpc", "grpc"):
        body = {"log": {"name": "probe", "data": f"after {transport}"}}
        if requests.post(f"{broker_url}/log-{transport}", json=body, timeout=10).status_code != 202:
            return False
    signed_in = requests.post(f"{broker_url}/handle", json=SIGN_IN, timeout=10)
    if signed_in.status_code != 202:
        return False
    token = signed_in.json()["data"]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = requests.get(f"{broker_url}/logs?limit=5", headers=headers, timeout=10)
    return listed.status_code == 200


def queue_depth(amqp_uri: str, name: str) -> int:
    """Messages ready in the queue; 0 when it does not exist (the listener declares its retry
    and dead-letter queues only when it first needs them)."""
    with Connection(amqp_uri) as connection:
        try:
            return connection.default_channel.queue_declare(name, passive=True).message_count
        except NotFound:
            return 0


def assert_stored_exactly_once(load: LogLoad, logs: pymongo.collection.Collection) -> None:
    """Every accepted event is stored once; nothing, accepted or not, is stored twice."""
    accepted = {answer.data for answer in load.accepted()}

    def stored() -> Counter[str]:
        return Counter(entry["data"] for entry in logs.find({"name": "load"}, {"data": 1}))

    wait_until(lambda: accepted <= set(stored()), timeout=120, what="every accepted event stored")
    counts = stored()
    assert [data for data, count in counts.items() if count > 1] == []
    by_id = {answer.event_id for answer in load.accepted()}
    assert len(by_id) == len(accepted), "every accepted event got an id of its own"


def test_rabbitmq_restarted_three_times_under_load_loses_and_doubles_nothing(
    rabbit_node, amqp_uri, users_db_uri, mongo_database, logs, tmp_path
):
    with start_system(amqp_uri, MONGO_URI, mongo_database, users_db_uri, tmp_path) as system:
        calls = Calls(system.broker_url)
        try:
            with LogLoad(system.broker_url) as load:
                eventlet.sleep(3)
                for restart in range(3):
                    if restart < 2:
                        rabbit_node.stop_app()
                        eventlet.sleep(OUTAGE_SECONDS)
                        rabbit_node.start_app()
                    else:  # the whole server, as a host reboot or a package upgrade does
                        rabbit_node.stop()
                        eventlet.sleep(OUTAGE_SECONDS)
                        rabbit_node.start()
                    eventlet.sleep(5)
                back = time.monotonic()
                wait_until(
                    lambda: every_route_answers(system.broker_url),
                    timeout=60,
                    what="every route answering after the last restart",
                )
                recovered_after = time.monotonic() - back
        finally:
            calls.stop()
        assert system.exited() == {}, system.tail()

        statuses = load.statuses() + Counter(status for _, status in calls.answers)
        assert set(statuses) <= {200, 202} | CLEAR_REFUSALS, (statuses, system.tail())
        assert load.statuses()[202] > 100
        assert_stored_exactly_once(load, logs)
        wait_until(lambda: queue_depth(amqp_uri, RETRY_QUEUE.name) == 0, timeout=90, what="retries")
        assert queue_depth(amqp_uri, LISTENER_QUEUE.name) == 0
        assert queue_depth(amqp_uri, DEAD_LETTER_QUEUE.name) == 0
        log.info("statuses %s; every route back %.1f s after", dict(statuses), recovered_after)


@pytest.mark.parametrize("service", ["listener", "logger", "logger_grpc", "auth", "broker"])
def test_a_service_killed_under_load_comes_back_and_nothing_is_lost_or_doubled(
    service, rabbit_node, amqp_uri, users_db_uri, mongo_database, logs, tmp_path
):
    with start_system(amqp_uri, MONGO_URI, mongo_database, users_db_uri, tmp_path) as system:
        with LogLoad(system.broker_url) as load:
            for _ in range(3):
                eventlet.sleep(2)
                # What the supervisor (make run), compose or Kubernetes does: start it again.
                system.restart(service)
            wait_until(
                lambda: every_route_answers(system.broker_url),
                timeout=60,
                what=f"every route answering after {service} came back",
            )
        assert system.exited() == {}, system.tail()
        statuses = load.statuses()
        allowed = {202} | CLEAR_REFUSALS | ({0} if service == "broker" else set())
        assert set(statuses) <= allowed, (statuses, system.tail())
        assert_stored_exactly_once(load, logs)
        assert queue_depth(amqp_uri, DEAD_LETTER_QUEUE.name) == 0


def test_the_listener_killed_mid_batch_again_and_again_stores_every_event_once(
    rabbit_node, amqp_uri, users_db_uri, mongo_database, logs, tmp_path
):
    with start_system(amqp_uri, MONGO_URI, mongo_database, users_db_uri, tmp_path) as system:
        with LogLoad(system.broker_url, transports=("rabbit",), workers=16, pause=0) as load:
            for _ in range(10):
                eventlet.sleep(0.7)
                system.restart("listener")
        assert set(load.statuses()) == {202}, load.statuses()
        assert_stored_exactly_once(load, logs)
        assert system.exited() == {}, system.tail()


def test_a_20_second_storage_outage_under_load_loses_and_doubles_nothing(
    own_mongo, rabbit_node, amqp_uri, users_db_uri, mongo_database, tmp_path
):
    with start_system(amqp_uri, own_mongo.uri, mongo_database, users_db_uri, tmp_path) as system:
        with LogLoad(system.broker_url) as load:
            eventlet.sleep(2)
            own_mongo.stop()
            eventlet.sleep(20)
            own_mongo.start()  # same port, same data
            wait_until(
                lambda: every_route_answers(system.broker_url),
                timeout=60,
                what="every route answering after the outage",
            )
        assert system.exited() == {}, system.tail()
        # The sync paths answer 503/504 while storage is away; RabbitMQ's keep accepting.
        assert set(load.statuses()) <= {202} | CLEAR_REFUSALS, load.statuses()
        with pymongo.MongoClient(own_mongo.uri, serverSelectionTimeoutMS=5000) as client:
            assert_stored_exactly_once(load, client[mongo_database]["logs"])
        assert queue_depth(amqp_uri, DEAD_LETTER_QUEUE.name) == 0


def test_with_auth_stopped_a_sign_in_is_refused_in_under_a_second(
    rabbit_node, amqp_uri, users_db_uri, mongo_database, tmp_path
):
    with start_system(amqp_uri, MONGO_URI, mongo_database, users_db_uri, tmp_path) as system:
        system.stop_one("auth")
        started = time.monotonic()
        answer = requests.post(f"{system.broker_url}/handle", json=SIGN_IN, timeout=10)
        elapsed = time.monotonic() - started
        assert answer.status_code == 503
        assert answer.json() == {"error": True, "message": "auth service is not running"}
        assert elapsed < 1
