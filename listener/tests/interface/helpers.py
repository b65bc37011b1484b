"""RabbitMQ helpers for the listener's interface tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from kombu import Connection, Producer, Queue
from kombu.message import Message

from common.log_topology import LISTENER_QUEUE, LOGS_EXCHANGE, routing_key


def publish_logs(
    amqp_uri: str,
    bodies: Iterable[dict[str, Any] | bytes],
    level: str = "INFO",
    headers: dict[str, Any] | None = None,
    message_id: str | None = None,
) -> list[str]:
    """Publish to `logs_topic` as the broker does: persistent, confirmed, with message ids
    (fresh ones, or every message `message_id`)."""
    message_ids = []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel())
        for body in bodies:
            message_ids.append(message_id or uuid.uuid4().hex)
            producer.publish(
                body if isinstance(body, bytes) else json.dumps(body).encode(),
                exchange=LOGS_EXCHANGE,
                routing_key=routing_key(level),
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode="persistent",
                message_id=message_ids[-1],
                headers=headers or {},
                mandatory=True,
                declare=[LISTENER_QUEUE],
            )
    return message_ids


def publish_log(amqp_uri: str, body: dict[str, Any] | bytes, **options: Any) -> str:
    (message_id,) = publish_logs(amqp_uri, [body], **options)
    return message_id


def queue_depth(amqp_uri: str, queue: Queue) -> int:
    """Messages ready in `queue` (declared if missing, as the listener would)."""
    with Connection(amqp_uri) as connection:
        return queue(connection.channel()).queue_declare().message_count


def peek(amqp_uri: str, queue: Queue) -> list[Message]:
    """Every message ready in `queue`, left in it (`listener.deliveries.raw_body` for bodies)."""
    messages = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        bound = queue(channel)
        bound.declare()
        while (message := bound.get(no_ack=False)) is not None:
            messages.append(message)
        channel.close()  # unacknowledged: back in the queue
    return messages
