"""Durable queues are quorum queues, and classic ones left by earlier versions never crash a start
(common/queues.py), against real RabbitMQ (a vhost per test)."""

import logging

import pytest
from kombu import Connection, Exchange, Queue

from common import queues


@pytest.fixture
def connection(rabbit_config):
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        yield connection


def queue_type(rabbit_manager, rabbit_config, name):
    return rabbit_manager.get_queue(rabbit_config["vhost"], name)["type"]


def test_a_new_durable_queue_is_a_quorum_queue(connection, rabbit_manager, rabbit_config):
    declared = queues.declare(queues.quorum_queue("jobs"), connection)
    assert declared.name == "jobs"
    assert queue_type(rabbit_manager, rabbit_config, "jobs") == "quorum"


def test_declaring_again_is_harmless(connection, rabbit_manager, rabbit_config):
    queues.declare(queues.quorum_queue("jobs"), connection)
    queues.declare(queues.quorum_queue("jobs"), connection)
    assert queue_type(rabbit_manager, rabbit_config, "jobs") == "quorum"


def test_an_empty_unused_classic_queue_is_replaced_with_its_bindings(
    connection, rabbit_manager, rabbit_config
):
    exchange = Exchange("events", type="topic", durable=True)
    Queue("jobs", exchange=exchange, routing_key="job.*", durable=True)(connection).declare()
    assert queue_type(rabbit_manager, rabbit_config, "jobs") == "classic"

    quorum = queues.quorum_queue("jobs", exchange=exchange, routing_key="job.*")
    assert queues.declare(quorum, connection) is quorum
    assert queue_type(rabbit_manager, rabbit_config, "jobs") == "quorum"
    bindings = rabbit_manager.get_queue_bindings(rabbit_config["vhost"], "jobs")
    assert ("events", "job.*") in {(b["source"], b["routing_key"]) for b in bindings}


def test_a_classic_queue_holding_messages_is_kept_and_reported(
    connection, rabbit_manager, rabbit_config, caplog
):
    Queue("jobs", durable=True)(connection).declare()
    connection.Producer().publish({"job": 1}, routing_key="jobs", declare=[])

    with caplog.at_level(logging.ERROR, logger="common.queues"):
        declared = queues.declare(queues.quorum_queue("jobs"), connection)

    assert declared.no_declare is True  # consumed as it is, never declared with other arguments
    assert queue_type(rabbit_manager, rabbit_config, "jobs") == "classic"
    assert "let it drain" in caplog.text
    # ...and the message is still there to consume
    message = declared(connection.default_channel).get(no_ack=True)
    assert message.payload == {"job": 1}


def test_exclusive_and_auto_delete_queues_stay_classic():
    reply = Queue("reply", exclusive=True, auto_delete=True, durable=False)
    assert queues.as_quorum(reply) is reply
    assert queues.as_quorum(Queue("work", durable=True)).queue_arguments == {
        "x-queue-type": "quorum"
    }
