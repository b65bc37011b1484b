"""The listener end to end: real RabbitMQ, the real LoggerService and a MongoDB-protocol server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

import pymongo
import pytest

from common.config import ROOT
from common.log_topology import LISTENER_QUEUE
from listener.deliveries import ATTEMPTS_HEADER, REASON_HEADER, ROUTING_KEY_HEADER, raw_body
from listener.queues import DEAD_LETTER_QUEUE, RETRY_QUEUE
from listener.service import ListenerService
from logger.service import LoggerService
from testing.ports import free_port
from testing.waiting import wait_until

from .helpers import peek, publish_log, publish_logs, queue_depth

FAST_RETRIES = {"RETRY_BACKOFF_BASE": 0.05, "RETRY_BACKOFF_MAX": 0.2}


@pytest.fixture
def start_listener(runner_factory, config_for):
    def start(**overrides):
        runner = runner_factory(config_for("listener", **overrides), ListenerService)
        runner.start()
        return runner

    return start


@pytest.fixture
def start_logger(runner_factory, config_for, mongo_database):
    def start(**overrides):
        config = config_for(
            "logger",
            MONGO_DATABASE=mongo_database,
            LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{free_port()}",
            **overrides,
        )
        runner = runner_factory(config, LoggerService)
        runner.start()
        return runner

    return start


def dead_letters_cli(amqp_uri: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m listener.dead_letters ...` as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "listener.dead_letters", *args],
        cwd=ROOT,
        env={**os.environ, "AMQP_URI": amqp_uri},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_queues_empty(amqp_uri: str) -> None:
    depths = {
        q.name: queue_depth(amqp_uri, q) for q in (LISTENER_QUEUE, RETRY_QUEUE, DEAD_LETTER_QUEUE)
    }
    assert depths == dict.fromkeys(depths, 0)


def test_an_event_published_to_logs_topic_is_stored(start_logger, start_listener, amqp_uri, logs):
    start_logger()
    start_listener()
    publish_log(amqp_uri, {"name": "event", "data": "something happened"}, level="WARNING")
    (entry,) = wait_until(lambda: list(logs.find()), what="the entry in MongoDB")
    assert (entry["name"], entry["data"]) == ("event", "something happened")
    assert entry["created_at"] is not None
    assert_queues_empty(amqp_uri)


def test_events_published_while_the_listener_is_stopped_are_all_stored_exactly_once(
    start_logger, start_listener, amqp_uri, logs
):
    start_logger()
    start_listener().stop()  # it has run before: its queue outlives it
    expected = [f"event {number}" for number in range(200)]
    publish_logs(amqp_uri, [{"name": "backlog", "data": data} for data in expected])
    assert queue_depth(amqp_uri, LISTENER_QUEUE) == 200

    listener = start_listener()
    wait_until(lambda: logs.count_documents({}) >= 200, what="200 entries in MongoDB")
    listener.stop()  # let in-flight work finish before counting

    stored = Counter(entry["data"] for entry in logs.find({"name": "backlog"}))
    assert stored == Counter(expected)
    assert_queues_empty(amqp_uri)


def test_events_published_during_a_storage_outage_are_retried_and_stored_when_it_is_back(
    start_logger, start_listener, amqp_uri, own_mongo, mongo_database
):
    logger = start_logger(MONGO_URI=own_mongo.uri, MONGO_TIMEOUT_MS=300)
    listener = start_listener(RETRY_MAX_ATTEMPTS=1000, **FAST_RETRIES)
    with pymongo.MongoClient(own_mongo.uri, serverSelectionTimeoutMS=5000) as client:
        logs = client[mongo_database]["logs"]
        publish_log(amqp_uri, {"name": "outage", "data": "before"})
        wait_until(lambda: logs.count_documents({}) == 1, what="the first entry")

        own_mongo.stop()
        expected = ["before"] + [f"during {number}" for number in range(20)]
        publish_logs(amqp_uri, [{"name": "outage", "data": data} for data in expected[1:]])
        wait_until(lambda: queue_depth(amqp_uri, RETRY_QUEUE) > 0, what="retries")
        assert queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 0

        own_mongo.start()  # same port, same storage directory
        wait_until(lambda: logs.count_documents({}) >= 21, timeout=60, what="21 entries")
        # Stopped while their MongoDB answers (a MongoClient closes slowly when it does not).
        listener.stop()
        logger.stop()
        assert Counter(entry["data"] for entry in logs.find()) == Counter(expected)
    assert queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 0


def test_a_poison_message_is_dead_lettered_with_the_reason_and_consuming_goes_on(
    start_logger, start_listener, amqp_uri, logs
):
    start_logger()
    start_listener()
    publish_log(amqp_uri, b"{not json", level="ERROR", headers={"x-request-id": "req-poison"})
    publish_log(amqp_uri, {"data": "no name"})
    publish_log(amqp_uri, {"name": "after", "data": "the poison"})

    wait_until(lambda: logs.count_documents({"name": "after"}) == 1, what="the valid entry")
    wait_until(lambda: queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 2, what="2 dead letters")
    dead = {raw_body(message): message.headers for message in peek(amqp_uri, DEAD_LETTER_QUEUE)}
    assert dead[b"{not json"][REASON_HEADER] == "invalid log entry: malformed JSON body"
    assert dead[b"{not json"][ROUTING_KEY_HEADER] == "log.ERROR"
    # The request that produced it can still be found from the dead letter.
    assert dead[b"{not json"]["x-request-id"] == "req-poison"
    assert dead[b'{"data": "no name"}'][REASON_HEADER] == "invalid log entry: name is required"
    assert {headers[ATTEMPTS_HEADER] for headers in dead.values()} == {1}
    assert logs.count_documents({}) == 1

    # Replaying what is still poison ends, and the poison comes back with its reason.
    replayed = dead_letters_cli(amqp_uri, "replay")
    assert "replayed 2 message(s)" in replayed.stdout
    wait_until(lambda: queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 2, what="2 dead letters again")
    assert {raw_body(message) for message in peek(amqp_uri, DEAD_LETTER_QUEUE)} == set(dead)
    assert logs.count_documents({}) == 1


def test_messages_over_the_retry_limit_are_dead_lettered_shown_and_replayed(
    start_logger, start_listener, amqp_uri, logs
):
    # A logger whose MongoDB is not there: every write fails as unavailable.
    broken = start_logger(MONGO_URI=f"mongodb://127.0.0.1:{free_port()}", MONGO_TIMEOUT_MS=200)
    start_listener(RETRY_MAX_ATTEMPTS=2, **FAST_RETRIES)
    expected = {f"entry {number}": level for number, level in enumerate(["INFO", "ERROR", "INFO"])}
    for data, level in expected.items():
        publish_log(amqp_uri, {"name": "late", "data": data}, level=level)
    wait_until(lambda: queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 3, what="3 dead letters")
    broken.stop()

    shown = dead_letters_cli(amqp_uri, "show")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("reason: gave up after 2 attempts: log storage is unavailable") == 3
    assert shown.stdout.count("attempts=2") == 3
    assert shown.stdout.count("routing_key=log.ERROR") == 1
    for data in expected:
        assert f'"data": "{data}"' in shown.stdout
    assert "3 dead-lettered message(s) shown" in shown.stdout
    assert queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 3  # showing consumed nothing

    start_logger()
    replayed = dead_letters_cli(amqp_uri, "replay", "--limit", "1")
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 1 message(s)" in replayed.stdout
    wait_until(lambda: logs.count_documents({}) == 1, what="the first replayed entry")
    assert queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 2

    replayed = dead_letters_cli(amqp_uri, "replay")
    assert "replayed 2 message(s)" in replayed.stdout
    wait_until(lambda: logs.count_documents({}) == 3, what="all replayed entries")
    assert {entry["data"] for entry in logs.find()} == set(expected)
    assert_queues_empty(amqp_uri)


def test_while_no_logger_runs_events_wait_without_spending_attempts(
    start_logger, start_listener, amqp_uri, logs
):
    start_listener(RETRY_MAX_ATTEMPTS=1, **FAST_RETRIES)  # one failure would dead-letter
    expected = [f"waiting {number}" for number in range(5)]
    publish_logs(amqp_uri, [{"name": "no logger", "data": data} for data in expected])
    time.sleep(2.5)  # the listener finds no logger twice or more
    assert queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 0
    assert queue_depth(amqp_uri, RETRY_QUEUE) == 0

    start_logger()
    wait_until(lambda: logs.count_documents({}) == 5, what="the 5 entries")
    assert sorted(entry["data"] for entry in logs.find()) == expected
    assert_queues_empty(amqp_uri)


def test_a_message_id_is_stored_once_however_often_it_is_delivered(
    start_logger, start_listener, amqp_uri, logs
):
    start_logger()
    start_listener()
    entry = {"name": "twice", "data": "the same event"}
    for _ in range(3):  # a publisher retrying after a lost confirm, a replay...
        publish_log(amqp_uri, entry, level="WARNING", message_id="event-42")
    publish_log(amqp_uri, {"name": "after", "data": "the duplicates"})

    wait_until(lambda: logs.count_documents({"name": "after"}) == 1, what="the last entry")
    (stored,) = list(logs.find({"name": "twice"}))
    assert (stored["_id"], stored["level"]) == ("event-42", "WARNING")
    assert_queues_empty(amqp_uri)


def test_purge_empties_the_dead_letter_queue(start_listener, amqp_uri):
    start_listener()
    publish_log(amqp_uri, b"poison")
    wait_until(lambda: queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 1, what="a dead letter")
    purged = dead_letters_cli(amqp_uri, "purge")
    assert purged.returncode == 0, purged.stderr
    assert "purged 1 message(s)" in purged.stdout
    assert queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 0


def test_the_dead_letter_tool_connects_to_the_first_node_of_a_list_that_answers(
    start_listener, amqp_uri
):
    start_listener()
    publish_log(amqp_uri, b"poison")
    wait_until(lambda: queue_depth(amqp_uri, DEAD_LETTER_QUEUE) == 1, what="a dead letter")
    gone = f"amqp://guest:first-secret@127.0.0.1:{free_port()}/"  # nothing listens there
    shown = dead_letters_cli(f"{gone};{amqp_uri}", "show")
    assert shown.returncode == 0, shown.stderr
    assert "1 dead-lettered message(s) shown" in shown.stdout
    assert "first-secret" not in shown.stdout + shown.stderr
