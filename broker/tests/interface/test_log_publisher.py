"""The RabbitMQ path's publisher against a real RabbitMQ (this test's own vhost)."""

import json
import time

import eventlet
import pytest
from kombu import Connection
from nameko.testing.services import dummy, entrypoint_hook
from nameko.testing.utils import get_extension

from broker.log_publisher import LogEventPublisher
from broker.payloads import OutgoingEvent
from common.config import service_config
from common.errors import ServiceUnavailable
from common.log_topology import LISTENER_QUEUE
from common.metrics import REGISTRY
from testing.ports import free_port


class Publishing:
    name = "publishing"
    log_events = LogEventPublisher()

    @dummy
    def publish(self, name, data, level):
        event = OutgoingEvent(name, data, level, id=f"event-{name}", request_id="req-1")
        self.log_events.publish(event)
        return event.id


def queued_messages(amqp_uri):
    with Connection(amqp_uri) as connection:
        queue = connection.SimpleQueue(LISTENER_QUEUE)
        messages = []
        # Until none comes: a quorum queue's message count (qsize) may lag just-confirmed events.
        while True:
            try:
                message = queue.get(timeout=0.5)
            except queue.Empty:
                break
            messages.append(message)
            message.ack()
        queue.close()
        return messages


def published(outcome: str) -> float:
    return REGISTRY.get_sample_value("broker_log_publishes_total", {"outcome": outcome}) or 0.0


def test_events_are_persistent_json_with_an_id(container_factory, config_for, rabbit_config):
    container = container_factory(Publishing, config_for("broker"))
    container.start()
    confirmed = published("confirmed")
    with entrypoint_hook(container, "publish") as publish:
        message_id = publish("name", "data", "WARNING")
    assert published("confirmed") == confirmed + 1

    [message] = queued_messages(rabbit_config["AMQP_URI"])
    assert json.loads(message.body) == {"name": "name", "data": "data"}
    assert message.delivery_info["routing_key"] == "log.WARNING"
    assert message.delivery_info["exchange"] == "logs_topic"
    assert message.properties["delivery_mode"] == 2
    assert message.properties["message_id"] == message_id == "event-name"
    assert message.headers["x-request-id"] == "req-1"


def test_a_deleted_queue_is_declared_again(container_factory, config_for, rabbit_config):
    container = container_factory(Publishing, config_for("broker"))
    container.start()
    with entrypoint_hook(container, "publish") as publish:
        publish("first", "d", "INFO")
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        connection.default_channel.queue_delete(LISTENER_QUEUE.name)
    with entrypoint_hook(container, "publish") as publish:
        publish("second", "d", "INFO")
    assert [json.loads(m.body)["name"] for m in queued_messages(rabbit_config["AMQP_URI"])] == [
        "second"
    ]


def test_rabbitmq_unreachable_fails_fast(container_factory):
    config = {
        **service_config("broker"),
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:{free_port()}//",
    }
    container = container_factory(Publishing, config)
    container.start()
    started = time.monotonic()
    unavailable = published("unavailable")
    with entrypoint_hook(container, "publish") as publish, pytest.raises(ServiceUnavailable):
        publish("n", "d", "INFO")
    assert time.monotonic() - started < 5
    assert published("unavailable") == unavailable + 1


def test_publishes_go_on_after_rabbitmq_closes_the_connections(
    container_factory, config_for, rabbit_config, rabbit_manager
):
    """Closed under it, the pipelined connection fails what it had in flight (published again by
    the retrying path) and is opened anew: every publish is confirmed, none answered with an
    error, and several run at once on one connection."""
    container = container_factory(Publishing, config_for("broker"))
    container.start()
    with entrypoint_hook(container, "publish") as publish:
        publish("before", "d", "INFO")
    vhost = rabbit_config["vhost"]
    for connection in rabbit_manager.get_connections():
        if connection["vhost"] == vhost:
            rabbit_manager.delete_connection(connection["name"])

    events = get_extension(container, LogEventPublisher).events

    def publish_one(name):
        events.publish(OutgoingEvent(name, "d", "INFO", id=f"event-{name}", request_id="r"))

    names = [f"after-{n}" for n in range(20)]
    list(eventlet.GreenPool().imap(publish_one, names))  # raises if any publish failed
    stored = {json.loads(m.body)["name"] for m in queued_messages(rabbit_config["AMQP_URI"])}
    assert stored == {"before", *names}
