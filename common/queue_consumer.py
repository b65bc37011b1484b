"""Nameko's QueueConsumer, made to ride out RabbitMQ going away.

Every entrypoint that consumes (RPC, event handlers, the listener's batches, the RPC reply
listener) shares one QueueConsumer per container. Nameko's own already reconnects, but:

- it waits 2, 4, 6 ... up to 30 s between attempts, so after a 10 s restart of RabbitMQ a service
  could stay away for another 10 s or more: here the wait grows from 0.5 s to at most 2 s;
- acknowledging a message on a connection that just died raises (py-amqp's
  RecoverableConnectionError, OSError), which kills the worker and with it the container: here a
  lost ack is a debug line, because RabbitMQ puts an unacknowledged message back by itself when
  the channel closes;
- its "Error connecting to broker" warning shows the passwords of the second and later nodes of
  a node list (`AMQP_URI` with `;`): here every one is masked (common/amqp_uri.py);
- it declares each queue as the entrypoint made it: here durable queues are quorum queues, and a
  classic queue left by an earlier version is migrated or used as it is (common/queues.py)
  instead of a channel error on every reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from functools import partial
from typing import Any

import amqp
from kombu.exceptions import OperationalError
from kombu.message import Message
from nameko.messaging import QueueConsumer

from common import queues
from common.amqp_uri import sanitize_amqp_uri
from common.readiness import Check

log = logging.getLogger(__name__)

# Whatever a dead or closing connection raises from py-amqp or kombu.
AMQP_ERRORS = (
    OperationalError,
    *amqp.Connection.connection_errors,
    *amqp.Connection.channel_errors,
)

RECONNECT_FIRST_WAIT = 0.5
RECONNECT_WAIT_STEP = 0.5
RECONNECT_MAX_WAIT = 2.0


class RobustQueueConsumer(QueueConsumer):
    _consuming = False  # consumers registered on a live connection (readiness)

    @contextmanager
    def establish_connection(self) -> Any:
        self._consuming = False
        with self.create_connection() as connection:
            connection.ensure_connection(
                self.on_connection_error,
                self.connect_max_retries,
                interval_start=RECONNECT_FIRST_WAIT,
                interval_step=RECONNECT_WAIT_STEP,
                interval_max=RECONNECT_MAX_WAIT,
            )
            yield connection

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        self._consuming = False
        log.warning(
            "Error connecting to broker at %s (%s).\nRetrying in %s seconds.",
            sanitize_amqp_uri(self.amqp_uri),
            exc,
            interval,
        )

    def get_consumers(self, consumer_cls: Callable[..., Any], channel: Any) -> Any:
        """Nameko's, except that each queue is declared through `queues.declare` first."""
        for provider in self._providers:
            queue = queues.declare(provider.queue, channel.connection)
            consumer = consumer_cls(
                queues=[queue],
                callbacks=[partial(self.handle_message, provider)],
                accept=self.accept,
            )
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()

    def on_consume_ready(
        self, connection: Any, channel: Any, consumers: Any, **kwargs: Any
    ) -> None:
        self._consuming = True
        super().on_consume_ready(connection, channel, consumers, **kwargs)

    def readiness(self) -> dict[str, Check]:
        """RabbitMQ: connected, and consuming every queue of this container's entrypoints."""
        queues_consumed = sorted(provider.queue.name for provider in self._providers)
        if not self._consuming or self.should_stop:
            return {"rabbitmq": Check(False, f"not consuming {', '.join(queues_consumed)}")}
        return {"rabbitmq": Check(True, f"consuming {', '.join(queues_consumed)}")}

    def ack_message(self, message: Message) -> None:
        try:
            super().ack_message(message)
        except AMQP_ERRORS:
            log.debug("ack lost with the connection; RabbitMQ redelivers the message")

    def requeue_message(self, message: Message) -> None:
        try:
            super().requeue_message(message)
        except AMQP_ERRORS:
            log.debug("requeue lost with the connection; RabbitMQ redelivers the message")
