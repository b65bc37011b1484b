"""Nothing accepted is lost: events published through the broker while the listener is down wait
in RabbitMQ and are stored, exactly once each, when it starts."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from broker.service import BrokerService
from listener.service import ListenerService
from logger.service import LoggerService
from testing.ports import free_port

EVENTS = 200


def test_events_published_while_the_listener_is_down_are_all_stored_once(
    runner_factory, config_for, mongo_database, logs
):
    broker_port = free_port()
    broker_url = f"http://127.0.0.1:{broker_port}"
    runner_factory(
        config_for("broker", WEB_SERVER_ADDRESS=f"127.0.0.1:{broker_port}"), BrokerService
    ).start()
    logger_config = config_for(
        "logger", MONGO_DATABASE=mongo_database, LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{free_port()}"
    )
    runner_factory(logger_config, LoggerService).start()

    def publish(number: int) -> int:
        body = {"log": {"name": "offline", "data": f"event {number}"}}
        return requests.post(f"{broker_url}/log-rabbit", json=body, timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(publish, range(EVENTS)))
    assert statuses == [202] * EVENTS

    time.sleep(0.5)
    assert logs.count_documents({}) == 0  # nobody consumes yet: they wait in the queue

    runner_factory(config_for("listener"), ListenerService).start()
    deadline = time.monotonic() + 30
    while logs.count_documents({}) < EVENTS and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # a duplicate would arrive now

    stored = [entry["data"] for entry in logs.find({}, {"data": 1})]
    assert sorted(stored) == sorted(f"event {number}" for number in range(EVENTS))
