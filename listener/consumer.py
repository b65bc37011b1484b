"""A Nameko entrypoint that hands the service the raw AMQP delivery instead of a decoded body.

Nameko's stock `@consume` lets kombu decode the body before the service sees it: a body that is
not valid JSON raises inside the consumer thread (no worker ever runs, so nothing can route it to
a dead-letter queue), and a worker error acknowledges the message. Here kombu hands over the
message undecoded (its `on_message` hook), the service parses and validates the body itself, and
a worker that raises gets its message requeued. Everything else is Nameko's QueueConsumer as it
is: prefetch = max_workers, reconnection, graceful stop waiting for pending workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import eventlet
from kombu import Queue
from kombu.message import Message
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer

from listener.messages import raw_body


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


class RawQueueConsumer(QueueConsumer):
    """Nameko's QueueConsumer, except that kombu does not decode the messages it delivers."""

    def get_consumers(self, consumer_cls: Callable[..., Any], channel: Any) -> Any:
        def undecoding_consumer(*, callbacks: list[Callable[..., Any]], **options: Any) -> Any:
            # Nameko registers one callback(body, message) per consumer; `on_message` replaces
            # kombu's decode-then-callbacks step.
            (callback,) = callbacks
            return consumer_cls(
                on_message=lambda message: callback(raw_body(message), message), **options
            )

        return super().get_consumers(undecoding_consumer, channel)


class DeliveryConsumer(Consumer):
    """Calls the decorated method with a `Delivery`; acks when it returns, requeues if it raises.

    Raising therefore means "this message is neither handled nor safely handed on": the method
    itself must deal with expected failures (retry, dead-letter) and return. The requeue waits
    `requeue_delay` seconds, so that a failure that repeats does not spin at full speed.
    """

    queue_consumer = RawQueueConsumer()

    def __init__(self, queue: Queue, requeue_delay: float = 1.0, **kwargs: Any) -> None:
        self.requeue_delay = requeue_delay
        super().__init__(queue, requeue_on_error=True, **kwargs)

    def handle_message(self, body: bytes, message: Message) -> None:
        delivery = Delivery.from_message(message)
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(
                self,
                (delivery,),
                {},
                context_data=self.unpack_message_headers(message),
                handle_result=handle_result,
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_message_processed(
        self, message: Message, result: Any = None, exc_info: Any = None
    ) -> None:
        if exc_info is not None:
            eventlet.sleep(self.requeue_delay)
        super().handle_message_processed(message, result, exc_info)

    def unpack_message_headers(self, message: Message) -> dict[str, Any]:
        # Only Nameko's own context headers (call id stack, auth token...) become worker context,
        # so retry bookkeeping and RabbitMQ's x-death are not forwarded on the worker's RPC calls.
        prefix = f"{self.header_prefix}."
        return {
            key[len(prefix) :]: value
            for key, value in (message.headers or {}).items()
            if key.startswith(prefix)
        }


consume_deliveries = DeliveryConsumer.decorator
