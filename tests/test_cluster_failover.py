"""The whole system on a private 3-node RabbitMQ cluster, through node loss (issue 12).

Every service is given the cluster as one `AMQP_URI` listing the three nodes (kombu's failover
syntax) and runs in a Nameko container of this test process (`runner_factory`); PostgreSQL and
MongoDB are the machine's. The cluster is this module's own (`rabbit_cluster`), healed between
tests; each test has its own MongoDB database.

- One node of three stopped under load on `/log-rabbit` (the one leading `listener.logs`, which
  is also the one every service is connected to): every request gets 202 or 503/504, and every
  event that got a 202 is stored exactly once.
- One node down: `/handle` auth and `GET /logs` keep answering.
- Two nodes down: fast 503/504; once a quorum is back, everything works again by itself and
  nothing accepted is lost.
- Every durable queue is a quorum queue, as RabbitMQ itself lists them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter

import eventlet
import kombu.pools
import pytest
import requests

from auth.service import AuthService
from broker.service import BrokerService
from common.config import service_config
from common.log_topology import LISTENER_QUEUE_NAME
from listener.service import ListenerService
from logger.service import LoggerService
from testing.broker_session import bearer_headers
from testing.http_load import Answers, post_each
from testing.ports import free_port
from testing.rabbit_cluster import RabbitCluster

log = logging.getLogger(__name__)

# A test starts a cluster, four services and stops nodes under load: minutes, not seconds.
pytestmark = pytest.mark.timeout(600)

EVENTS = 2000
CONCURRENCY = 16
FAULT_ANSWERS = {503, 504}
CREDENTIALS = {"email": "admin@example.com", "password": "verysecret"}


@pytest.fixture
def broker_url(rabbit_cluster: RabbitCluster, runner_factory, users_db_uri, mongo_database) -> str:
    """broker, auth, logger and listener on the cluster; the broker's URL."""
    port = free_port()

    def config(service: str, **overrides: object) -> dict:
        return {**service_config(service), "AMQP_URI": rabbit_cluster.amqp_uri, **overrides}

    configs = {
        LoggerService: config(
            "logger",
            MONGO_DATABASE=mongo_database,
            LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{free_port()}",
        ),
        AuthService: config("auth", DB_URIS={"auth:Base": users_db_uri}),
        ListenerService: config("listener"),
        BrokerService: config("broker", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}"),
    }
    # Each test's services start as fresh processes would: with no pooled connection left from
    # an earlier test to a node that has restarted since (Nameko's publishers share kombu's
    # process-wide pools, and a service's start declares exchanges without retrying).
    kombu.pools.reset()
    for service, service_configuration in configs.items():
        runner_factory(service_configuration, service).start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: listing_status(url) == 200, 30)
    return url


def listing_status(broker_url: str, headers: dict[str, str] | None = None) -> int:
    """`GET /logs` as a signed-in client (a sign-in first when no token is given)."""
    if headers is None:
        headers = bearer_headers(broker_url)
    return requests.get(f"{broker_url}/logs?limit=5", headers=headers, timeout=10).status_code


def wait_until(condition, seconds: float, interval: float = 0.2) -> float:
    """Seconds it took `condition()` to hold; fails after `seconds`."""
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except requests.RequestException:
            pass
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(interval)


def stored(logs, name: str) -> dict[str, list[str]]:
    """Stored entries under `name`: the `_id`s (event ids) of each `data` value."""
    ids: dict[str, list[str]] = {}
    for entry in logs.find({"name": name}, {"data": 1}):
        ids.setdefault(entry["data"], []).append(entry["_id"])
    return ids


def log_body(name: str):
    return lambda data: {"log": {"name": name, "data": data}}


def assert_stored_once(logs, name: str, answers: Answers, seconds: float = 90) -> None:
    """Every accepted event stored under its event id, once; nothing else stored."""
    accepted = answers.event_ids
    deadline = time.monotonic() + seconds
    entries = stored(logs, name)
    while not accepted.keys() <= entries.keys() and time.monotonic() < deadline:
        time.sleep(0.5)
        entries = stored(logs, name)
    time.sleep(1)  # a duplicate would arrive now
    entries = stored(logs, name)
    missing = [data for data, event_id in accepted.items() if event_id not in entries.get(data, [])]
    doubled = {data: ids for data, ids in entries.items() if len(ids) > 1}
    assert not missing, f"{len(missing)} accepted events not stored"
    assert not doubled, f"{len(doubled)} events stored more than once"
    # Events refused with 503/504 may have reached RabbitMQ all the same (no confirm came back);
    # stored or not, never twice. Nothing else is stored.
    assert entries.keys() <= answers.by_value.keys()


def test_every_accepted_event_is_stored_once_through_the_stop_of_the_queue_leader(
    rabbit_cluster: RabbitCluster, broker_url: str, logs
) -> None:
    name = f"failover-{uuid.uuid4().hex[:8]}"
    leader = rabbit_cluster.leader_of(LISTENER_QUEUE_NAME)
    answers = Answers()
    values = [f"{name} {number}" for number in range(EVENTS)]
    load = eventlet.spawn(
        post_each,
        f"{broker_url}/log-rabbit",
        values,
        log_body(name),
        CONCURRENCY,
        answers=answers,
    )
    wait_until(lambda: answers.done >= EVENTS // 4, 120, 0.05)
    stopping = time.monotonic()
    leader.stop()
    stopped_in = time.monotonic() - stopping
    wait_until(lambda: answers.done >= EVENTS // 2, 120, 0.05)
    new_leader = rabbit_cluster.leader_of(LISTENER_QUEUE_NAME)
    leader.start()
    load.wait()

    statuses = answers.statuses()
    log.info("statuses %s; %s stopped in %.1f s", dict(statuses), leader.nodename, stopped_in)
    assert set(statuses) <= {202} | FAULT_ANSWERS, statuses
    assert statuses[202] >= EVENTS * 0.9, statuses  # one node of three down costs little
    assert new_leader is not leader
    assert_stored_once(logs, name, answers)


def test_auth_and_log_listings_answer_while_a_node_is_down(
    rabbit_cluster: RabbitCluster, broker_url: str
) -> None:
    auth = {"action": "auth", "auth": CREDENTIALS}
    signed_in = requests.post(f"{broker_url}/handle", json=auth, timeout=10)
    assert signed_in.status_code == 202
    token = {"Authorization": f"Bearer {signed_in.json()['data']['access_token']}"}
    node = rabbit_cluster.node(rabbit_cluster.nodes[0].nodename)  # every service's first node
    stop = eventlet.spawn(node.stop)
    eventlet.sleep(0.5)

    answered: list[tuple[str, int]] = []
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline or not stop.dead:
        auth_status = requests.post(f"{broker_url}/handle", json=auth, timeout=10).status_code
        logs_status = listing_status(broker_url, token)
        answered += [("auth", auth_status), ("logs", logs_status)]
        eventlet.sleep(0.2)
    stop.wait()

    log.info("while %s stopped: %s", node.nodename, Counter(answered))
    assert all(status in {200, 202} | FAULT_ANSWERS for _, status in answered), answered
    failed = [call for call in answered if call[1] in FAULT_ANSWERS]
    assert len(failed) <= 2, f"more than a reconnect's worth of failures: {answered}"
    # The last calls, made with the node down for good, all succeeded.
    assert answered[-4:] == [("auth", 202), ("logs", 200)] * 2


def test_two_nodes_down_answer_503_or_504_fast_then_everything_recovers(
    rabbit_cluster: RabbitCluster, broker_url: str, logs
) -> None:
    name = f"quorum-{uuid.uuid4().hex[:8]}"
    url = f"{broker_url}/log-rabbit"
    before = post_each(url, [f"{name} before {n}" for n in range(100)], log_body(name), 8)
    assert before.statuses() == {202: 100}

    first, second, survivor = rabbit_cluster.nodes
    stops = [eventlet.spawn(node.stop) for node in (first, second)]
    for stop in stops:
        stop.wait()
    assert rabbit_cluster.running_nodes() == [survivor.nodename]

    started = time.monotonic()
    during = post_each(
        url, [f"{name} during {n}" for n in range(40)], log_body(name), 8, timeout=10
    )
    took = time.monotonic() - started
    statuses = during.statuses()
    log.info("with a minority left: %s in %.1f s", dict(statuses), took)
    # No quorum, no confirm: never a 202; each answered within the broker's publish deadline
    # (RABBIT_PUBLISH_TIMEOUT, 5 s): at once when its node refuses, at the deadline when the
    # node left waits for a quorum.
    assert set(statuses) <= FAULT_ANSWERS, statuses
    slowest = max(during.seconds.values())
    log.info("slowest refusal %.1f s", slowest)
    assert slowest < 8, f"a request took {slowest:.1f} s"
    asked = time.monotonic()
    auth = requests.post(
        f"{broker_url}/handle", json={"action": "auth", "auth": CREDENTIALS}, timeout=10
    )
    auth_took = time.monotonic() - asked
    log.info("auth with a minority left: %d in %.1f s", auth.status_code, auth_took)
    assert auth.status_code in FAULT_ANSWERS
    assert auth_took < 8  # within the broker's deadline for auth (AUTH_RPC_TIMEOUT, 5 s)

    for node in (first, second):
        node.launch()
    for node in (first, second):
        node.wait_ready(90)
    probes = Answers()

    def probe() -> bool:
        post_each(url, [f"{name} probe {probes.done}"], log_body(name), 1, answers=probes)
        return 202 in probes.statuses()

    recovered = wait_until(probe, 60, 0.5)
    after = post_each(url, [f"{name} after {n}" for n in range(100)], log_body(name), 8)
    log.info("recovered %.1f s after the nodes were ready", recovered)
    assert after.statuses() == {202: 100}
    login = requests.post(
        f"{broker_url}/handle", json={"action": "auth", "auth": CREDENTIALS}, timeout=10
    )
    assert login.status_code == 202
    token = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
    assert listing_status(broker_url, token) == 200
    every = Answers()
    for part in (before, during, probes, after):
        every.by_value.update(part.by_value)
        every.event_ids.update(part.event_ids)
    assert_stored_once(logs, name, every)


def test_every_durable_queue_is_a_quorum_queue(
    rabbit_cluster: RabbitCluster, broker_url: str
) -> None:
    requests.post(
        f"{broker_url}/handle", json={"action": "auth", "auth": CREDENTIALS}, timeout=10
    ).raise_for_status()
    requests.post(
        f"{broker_url}/log-rabbit", json={"log": {"name": "types", "data": "x"}}, timeout=10
    ).raise_for_status()
    listed = rabbit_cluster.any_ready().ctl("list_queues", "name", "type", "--no-table-headers")
    types = dict(line.split("\t") for line in listed.strip().splitlines())
    replies = {queue: kind for queue, kind in types.items() if queue.startswith("rpc.reply-")}
    durable = {queue: kind for queue, kind in types.items() if queue not in replies}
    assert {"rpc-auth", "rpc-logger", LISTENER_QUEUE_NAME} <= durable.keys(), types
    assert set(durable.values()) == {"quorum"}, types
    assert replies and set(replies.values()) == {"classic"}, types
