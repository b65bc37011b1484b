"""Publishing log events to the `logs_topic` exchange for the listener.

A 202 from the broker must mean RabbitMQ has the event: messages are persistent, published with
confirms (RabbitMQ acknowledges that it took responsibility) and `mandatory` (an event that no
queue would receive raises instead of vanishing). The listener's queue is declared here too, so
events published before the listener ever ran wait for it.
"""

from __future__ import annotations

import uuid
from typing import Any

from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider

from common.errors import DownstreamError, DownstreamUnavailable
from common.log_events import LISTENER_QUEUE, LOGS_EXCHANGE, routing_key

# Fail in about a second when RabbitMQ is gone, instead of kombu's default of retrying forever.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.4, "interval_max": 1}


class LogEvents:
    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    def publish(self, name: str, data: str, level: str) -> str:
        """Publish one event; returns its message id once RabbitMQ confirmed it."""
        message_id = uuid.uuid4().hex
        try:
            self._publisher.publish(
                {"name": name, "data": data},
                exchange=LOGS_EXCHANGE,
                routing_key=routing_key(level),
                message_id=message_id,
            )
        except UndeliverableMessage:
            raise DownstreamError("the log event could not be routed to any queue") from None
        except (OperationalError, OSError):
            raise DownstreamUnavailable("RabbitMQ is unavailable") from None
        return message_id


class LogEventPublisher(DependencyProvider):
    def setup(self) -> None:
        self.publisher = Publisher(
            self.container.config[AMQP_URI_CONFIG_KEY],
            use_confirms=True,
            mandatory=True,
            declare=[LOGS_EXCHANGE, LISTENER_QUEUE],
            retry_policy=RETRY_POLICY,
        )

    def get_dependency(self, worker_ctx: Any) -> LogEvents:
        return LogEvents(self.publisher)
