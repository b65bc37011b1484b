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

On a cluster (`AMQP_URI` listing several nodes) a publish that fails because its node went away,
whose confirm does not come in time, or that RabbitMQ nacks (py-amqp counts a nack as a
recoverable connection error), is published again on the next node (kombu's `ensure`,
round-robin over the list) before the caller is told anything: one node of three down costs a
retried publish, not a 5xx. On a quorum queue the confirm means a quorum of nodes has the event.
A publish retried after a lost confirm may reach RabbitMQ twice; both copies carry the event id
as message id and are stored as one entry. All of it within `RABBIT_PUBLISH_TIMEOUT` seconds
(one node waited at most half of it): with no quorum (two nodes of three down) nothing is
confirmed and the caller gets a 503 then, instead of every node's wait added up.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import eventlet
from amqp.exceptions import ChannelError
from kombu import Connection
from kombu.exceptions import OperationalError
from kombu.pools import ProducerPool
from nameko.constants import AMQP_URI_CONFIG_KEY, PERSISTENT
from nameko.extensions import DependencyProvider

from broker.payloads import OutgoingEvent
from broker.settings import BrokerSettings
from common import queues
from common.amqp_uri import failover_policy
from common.errors import DownstreamError, ServiceUnavailable
from common.ids import REQUEST_ID_AMQP_HEADER
from common.log_topology import LISTENER_QUEUE, LOGS_EXCHANGE, routing_key
from common.metrics import LOG_PUBLISHES
from common.settings import settings_for

log = logging.getLogger(__name__)

# Fail in about a second when RabbitMQ is gone, instead of kombu's default of retrying forever.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.4, "interval_max": 1}


class PublishDeadline(OperationalError):
    """No node confirmed the event within the publish timeout."""


class LogEvents:
    def __init__(
        self,
        connection: Connection,
        size: int,
        timeout: float | None = None,
        retry_policy: dict[str, float] | None = None,
    ) -> None:
        self._producers = ProducerPool(connection.Pool(limit=size), limit=size)
        self._declared = False
        self._timeout = timeout
        self._retry_policy = retry_policy or RETRY_POLICY

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
                LOG_PUBLISHES.labels("unroutable").inc()
                raise DownstreamError("the log event could not be routed to any queue") from None
            LOG_PUBLISHES.labels("refused").inc()
            raise ServiceUnavailable("RabbitMQ refused the log event") from None
        except (OperationalError, OSError):
            LOG_PUBLISHES.labels("unavailable").inc()
            raise ServiceUnavailable("RabbitMQ is unavailable") from None
        LOG_PUBLISHES.labels("confirmed").inc()

    def close(self) -> None:
        self._producers.force_close_all()
        self._producers.connections.force_close_all()

    def _give_up_after(self, started: float) -> Any:
        """A kombu errback (called before each retry, the failed connection already closed) that
        ends the retries once the publish timeout has passed."""

        def errback(exc: Exception, interval: float) -> None:
            if self._timeout is not None and time.monotonic() - started > self._timeout:
                raise PublishDeadline(f"no RabbitMQ node confirmed in {self._timeout:g} s: {exc}")

        return errback

    def _publish(self, event: OutgoingEvent) -> None:
        policy = {**self._retry_policy, "errback": self._give_up_after(time.monotonic())}
        deadline = PublishDeadline(f"no RabbitMQ node confirmed in {self._timeout} s")
        with self._producers.acquire(block=True) as producer:
            try:
                with eventlet.Timeout(self._timeout, deadline):
                    self._send(producer, event, policy)
            except PublishDeadline:
                # Whatever it waited for (a confirm, the answer to closing a channel on a node
                # without quorum) may still come: the connection goes without a handshake.
                producer.connection.collect()
                raise

    def _send(self, producer: Any, event: OutgoingEvent, policy: dict[str, Any]) -> None:
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
            retry_policy=policy,
            confirm_timeout=self._timeout and self._timeout / 2,
        )


class LogEventPublisher(DependencyProvider):
    """Config: AMQP_URI (one node or several), RABBIT_PUBLISH_CONNECTIONS (the size of the
    connection pool), RABBIT_PUBLISH_TIMEOUT (seconds for a confirm, failover included)."""

    def setup(self) -> None:
        uri = self.container.config[AMQP_URI_CONFIG_KEY]
        policy = failover_policy(uri, RETRY_POLICY)
        settings = settings_for(self.container, BrokerSettings)
        connection = Connection(
            uri,
            connect_timeout=1,
            failover_strategy="round-robin",
            # Opening a connection gives up as quickly as publishing does. A node without a
            # quorum neither confirms nor lets a channel close (py-amqp waited a minute for it
            # on every failover): reads are bounded (SO_RCVTIMEO, for blocking sockets; under
            # eventlet the publish's own deadline in `_publish` is the bound).
            transport_options={
                "confirm_publish": True,
                "read_timeout": settings.rabbit_publish_timeout / 2,
                **policy,
            },
        )
        self.events = LogEvents(
            connection,
            settings.rabbit_publish_connections,
            timeout=settings.rabbit_publish_timeout,
            retry_policy=policy,
        )

    def stop(self) -> None:
        self.events.close()

    def kill(self) -> None:
        self.events.close()

    def get_dependency(self, worker_ctx: Any) -> LogEvents:
        return self.events
