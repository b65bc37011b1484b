"""Publishing log events to the `logs_topic` exchange for the listener.

A 202 from the broker must mean RabbitMQ has the event: messages are persistent, published with
confirms (RabbitMQ acknowledges that it took responsibility) and `mandatory` (an event that no
queue would receive raises instead of vanishing). The listener's queue is declared here too, so
events published before the listener ever ran wait for it.

This is the hot path of the busiest route, so it does the least per message: producers come from
a pool of connections in confirm mode, reused across requests, and the exchange and queue are
declared before the first event, and again only if RabbitMQ refuses an event for want of them
(someone deleted the queue or the exchange).

A connection in confirm mode carries one publish at a time (it waits for the confirm), so the pool
must be about as large as the number of requests in flight: kombu's global default of 10 made
requests queue for a connection, and that wait, not RabbitMQ, was most of the p99 latency at
concurrency 64 (bench/ measured 220 ms with 10 connections, 80 ms with 64).
"""

from __future__ import annotations

import logging
from typing import Any

from amqp.exceptions import ChannelError
from kombu import Connection
from kombu.exceptions import OperationalError
from kombu.pools import ProducerPool
from nameko.constants import AMQP_URI_CONFIG_KEY, PERSISTENT
from nameko.extensions import DependencyProvider

from broker.payloads import OutgoingEvent
from broker.settings import BrokerSettings
from common import queues
from common.errors import DownstreamError, ServiceUnavailable
from common.ids import REQUEST_ID_AMQP_HEADER
from common.log_topology import LISTENER_QUEUE, LOGS_EXCHANGE, routing_key
from common.settings import settings_for

log = logging.getLogger(__name__)

# Fail in about a second when RabbitMQ is gone, instead of kombu's default of retrying forever.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.4, "interval_max": 1}


class LogEvents:
    def __init__(self, connection: Connection, size: int) -> None:
        self._producers = ProducerPool(connection.Pool(limit=size), limit=size)
        self._declared = False

    def declare(self) -> None:
        with self._producers.acquire(block=True) as producer:
            LOGS_EXCHANGE(producer.channel).declare()
            queues.declare(LISTENER_QUEUE, producer.connection)
        self._declared = True

    def publish(self, event: OutgoingEvent) -> None:
        """Publish one event; returns once RabbitMQ confirmed it.

        The event's id is the message id and its request id a header: the listener stores the
        entry under that id, so a publish retried after a lost confirm is still one entry."""
        try:
            if not self._declared:
                self.declare()
            try:
                self._publish(event)
            except ChannelError as exc:
                log.warning("RabbitMQ refused a log event (%s): declaring the queue again", exc)
                self.declare()
                self._publish(event)
        except ChannelError as exc:
            if "NO_ROUTE" in str(exc):
                raise DownstreamError("the log event could not be routed to any queue") from None
            raise ServiceUnavailable("RabbitMQ refused the log event") from None
        except (OperationalError, OSError):
            raise ServiceUnavailable("RabbitMQ is unavailable") from None

    def close(self) -> None:
        self._producers.force_close_all()
        self._producers.connections.force_close_all()

    def _publish(self, event: OutgoingEvent) -> None:
        with self._producers.acquire(block=True) as producer:
            producer.publish(
                {"name": event.name, "data": event.data},
                exchange=LOGS_EXCHANGE,
                routing_key=routing_key(event.level),
                serializer="json",
                delivery_mode=PERSISTENT,
                mandatory=True,
                message_id=event.id,
                headers={REQUEST_ID_AMQP_HEADER: event.request_id},
                retry=True,
                retry_policy=RETRY_POLICY,
            )


class LogEventPublisher(DependencyProvider):
    """Config: AMQP_URI, RABBIT_PUBLISH_CONNECTIONS (the size of the connection pool)."""

    def setup(self) -> None:
        connection = Connection(
            self.container.config[AMQP_URI_CONFIG_KEY],
            connect_timeout=1,
            # Opening a connection gives up as quickly as publishing does (RETRY_POLICY).
            transport_options={"confirm_publish": True, **RETRY_POLICY},
        )
        size = settings_for(self.container, BrokerSettings).rabbit_publish_connections
        self.events = LogEvents(connection, size)

    def stop(self) -> None:
        self.events.close()

    def kill(self) -> None:
        self.events.close()

    def get_dependency(self, worker_ctx: Any) -> LogEvents:
        return self.events
