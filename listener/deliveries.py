"""Reading the messages the listener handles (`Delivery`: what a worker gets of one), and the
headers it writes on those it moves to the retry or dead-letter queue (the attempt count, the
reason, the original routing key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kombu.message import Message

ATTEMPTS_HEADER = "x-listener-attempts"
REASON_HEADER = "x-listener-reason"
ROUTING_KEY_HEADER = "x-listener-routing-key"
DEAD_LETTERED_AT_HEADER = "x-listener-dead-lettered-at"
LISTENER_HEADERS = (ATTEMPTS_HEADER, REASON_HEADER, ROUTING_KEY_HEADER, DEAD_LETTERED_AT_HEADER)

# RabbitMQ's own dead-lettering bookkeeping (x-death, x-first-death-*, x-last-death-*).
_RABBITMQ_DEATH_HEADERS = ("x-death", "x-first-death-", "x-last-death-")


def raw_body(message: Message) -> bytes:
    """The body as published. py-amqp hands over text when a content_encoding is set and the
    bytes decode with it; encoding it back gives the very same bytes."""
    body = message.body
    return body.encode(message.content_encoding or "utf-8") if isinstance(body, str) else body


def failed_attempts(headers: dict[str, Any]) -> int:
    """How many times the listener has already failed to handle this message."""
    value = headers.get(ATTEMPTS_HEADER, 0)
    return value if isinstance(value, int) and value > 0 else 0


def original_routing_key(headers: dict[str, Any], routing_key: str) -> str:
    """The `log.<LEVEL>` key the message was first published with, even after a retry."""
    return str(headers.get(ROUTING_KEY_HEADER) or routing_key)


def publisher_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """The headers the publisher set, without the listener's or RabbitMQ's bookkeeping."""
    return {
        key: value
        for key, value in headers.items()
        if key not in LISTENER_HEADERS and not key.startswith(_RABBITMQ_DEATH_HEADERS)
    }


@dataclass(frozen=True)
class Delivery:
    """What a worker needs of an AMQP message: the bytes as published and their metadata."""

    body: bytes
    routing_key: str
    headers: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    content_type: str | None = None
    content_encoding: str | None = None

    @classmethod
    def from_message(cls, message: Message) -> Delivery:
        return cls(
            body=raw_body(message),
            routing_key=message.delivery_info["routing_key"],
            headers=dict(message.headers or {}),
            message_id=message.properties.get("message_id"),
            content_type=message.content_type,
            content_encoding=message.content_encoding,
        )
