"""Publishing log events to the `logs_topic` exchange for the listener.

A 202 from the broker must mean RabbitMQ has the event: messages are persistent, published with
confirms (RabbitMQ acknowledges that it took responsibility) and `mandatory` (an event that no
queue would receive raises instead of vanishing). The listener's queue is declared here too, so
events published before the listener ever ran wait for it.

This is the hot path of the busiest route, so it does the least per message. Events go out on a
few pipelined connections (`_Pipeline`): each carries any number of publishes at once, numbered
as RabbitMQ numbers its confirms, and one reader green thread per connection hands each confirm
to its publisher (RabbitMQ confirms a burst with one `multiple` ack). A connection that carried
one publish at a time paid a write, a read and an epoll registration per event; a pipeline pays a
write per event and a read per burst: about 40% less of the broker's CPU per request at
concurrency 64 (README, "Benchmarks"). The happy path makes no timer, retry policy or closure:
one reaper green thread checks the oldest publish in flight of each connection against its
deadline, ten times a second. The exchange and queue are declared before the first event, and
again only if RabbitMQ refuses an event for want of them (someone deleted the queue or the
exchange).

Whatever goes wrong on a pipeline (the connection lost, a nack, no confirm within half the
publish timeout) fails the publishes it had in flight over to the retrying path below, and the
pipeline is opened anew by a later publish. The retrying path is kombu's: a pool of producers in
confirm mode (`RABBIT_PUBLISH_CONNECTIONS` of them at most, opened only when needed), one publish
at a time each, with failover.

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

import json
import logging
from time import monotonic
from typing import Any

import amqp
import eventlet
from amqp.exceptions import ChannelError, MessageNacked
from eventlet.event import Event
from eventlet.semaphore import Semaphore
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

# The counter's children, looked up once (`labels()` takes a lock and a dict lookup per call).
_CONFIRMED = LOG_PUBLISHES.labels("confirmed")
_UNROUTABLE = LOG_PUBLISHES.labels("unroutable")
_REFUSED = LOG_PUBLISHES.labels("refused")
_UNAVAILABLE = LOG_PUBLISHES.labels("unavailable")

# Fail in about a second when RabbitMQ is gone, instead of kombu's default of retrying forever.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.4, "interval_max": 1}


class PublishDeadline(OperationalError):
    """No node confirmed the event within the publish timeout."""


# Pipelined connections: several are enough, as each carries any number of publishes at once
# (measured in-process, 64 publishers: ~100 us of CPU per confirmed publish over two pipelined
# connections against ~200-250 us over a pool of 32 connections with one publish each, which
# pays a read, and an epoll registration, per confirm where a pipeline pays one per burst).
PIPELINES = 2
# How often the publishes in flight are checked against their deadline: one timer for all of
# them instead of one per publish; a late confirm is noticed at most this much late.
REAP_SECONDS = 0.1
# After a pipeline could not be opened (RabbitMQ unreachable), publishes take the retrying path
# alone for this long before the next try, so an outage does not cost each caller a connect.
REOPEN_SECONDS = 1.0


class _Pending:
    """A publish waiting for its confirm: `outcome` is sent None (confirmed) or an exception."""

    __slots__ = ("confirm_by", "message_id", "outcome", "returned")

    def __init__(self, message_id: str, confirm_by: float) -> None:
        self.outcome = Event()
        self.message_id = message_id
        self.confirm_by = confirm_by
        self.returned: ChannelError | None = None


class _Pipeline:
    """One connection in confirm mode carrying many publishes at once: its writers number the
    messages as RabbitMQ does (delivery tags, from 1 on the channel), one reader green thread
    dispatches the confirms (RabbitMQ acknowledges a burst with one `multiple` ack) to the
    waiting writers, and a returned message (mandatory, unroutable: a `basic.return` comes
    before its ack) fails only its own publish.

    Any other trouble (the connection lost, a channel error, a nack, a confirm later than
    `confirm_wait`) fails every publish in flight and the pipeline is dropped: their callers
    publish again by the retrying path, which knows failover, and their event ids make a
    second copy harmless.
    """

    def __init__(self, connection: Connection, confirm_wait: float | None) -> None:
        self.connection = connection
        self.failure: BaseException | None = None
        self._confirm_wait = confirm_wait if confirm_wait is not None else float("inf")
        self._pending: dict[int, _Pending] = {}
        self._tag = 0
        # Numbering and writing in one step keep the tags in the order RabbitMQ sees messages.
        self._write_lock = Semaphore(1)
        transport = connection.connection
        self._channel = transport.channel()
        self._channel.confirm_select()
        self._channel.events["basic_ack"].add(self._on_ack)
        self._channel.events["basic_nack"].add(self._on_nack)
        self._channel.events["basic_return"].add(self._on_return)
        self._reader = eventlet.spawn(self._read, transport)

    def publish(self, message: amqp.Message, routing_key: str, message_id: str) -> Any:
        """None once RabbitMQ confirmed, else the exception that stopped it (not raised: the
        caller decides between retrying and answering)."""
        pending = _Pending(message_id, monotonic() + self._confirm_wait)
        with self._write_lock:
            if self.failure is not None:
                return self.failure
            self._tag += 1
            self._pending[self._tag] = pending
            try:
                # The channel's own `basic_publish` waits for the confirm: write only.
                self._channel._basic_publish(
                    message, exchange=LOGS_EXCHANGE.name, routing_key=routing_key, mandatory=True
                )
            except Exception as exc:
                self.fail(exc)
        return pending.outcome.wait()

    def reap(self, now: float) -> None:
        """Fails the pipeline when its oldest publish waited too long for its confirm."""
        oldest = next(iter(self._pending.values()), None)
        if oldest is not None and oldest.confirm_by < now:
            self.fail(PublishDeadline(f"no confirm in {self._confirm_wait:g} s"))

    def fail(self, exc: BaseException) -> None:
        if self.failure is not None:
            return
        self.failure = exc
        pending, self._pending = self._pending, {}
        for waiting in pending.values():
            waiting.outcome.send(exc)
        if eventlet.getcurrent() is not self._reader:
            self._reader.kill()
        # Without a handshake: a node that stopped confirming may not answer a close either.
        self.connection.collect()

    def close(self) -> None:
        self.fail(ConnectionError("the publisher stopped"))

    def _read(self, transport: amqp.Connection) -> None:
        try:
            while True:
                transport.drain_events()
        except Exception as exc:
            self.fail(exc)

    def _on_ack(self, tag: int, multiple: bool) -> None:
        pending = self._pending
        if not multiple:
            self._settle(pending.pop(tag, None))
            return
        while pending:
            first = next(iter(pending))
            if first > tag:
                break
            self._settle(pending.pop(first))

    def _settle(self, waiting: _Pending | None) -> None:
        if waiting is not None:
            waiting.outcome.send(waiting.returned)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self.fail(MessageNacked(f"RabbitMQ nacked delivery {tag}"))

    def _on_return(self, exc: ChannelError, exchange: str, routing_key: str, message: Any) -> None:
        message_id = message.properties.get("message_id")
        for waiting in self._pending.values():  # the oldest first: returns come in order
            if waiting.message_id == message_id and waiting.returned is None:
                waiting.returned = exc
                return


class LogEvents:
    def __init__(
        self,
        connection: Connection,
        size: int,
        timeout: float | None = None,
        retry_policy: dict[str, float] | None = None,
        pipelines: int = PIPELINES,
    ) -> None:
        self._connection = connection
        self._producers = ProducerPool(connection.Pool(limit=size), limit=size)
        self._declared = False
        self._timeout = timeout
        self._retry_policy = retry_policy or RETRY_POLICY
        self._pipelines: list[_Pipeline | None] = [None] * pipelines
        self._opening: set[int] = set()
        self._reopen_at = 0.0
        self._turn = 0
        self._reaper: Any = None

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
                _UNROUTABLE.inc()
                raise DownstreamError("the log event could not be routed to any queue") from None
            _REFUSED.inc()
            raise ServiceUnavailable("RabbitMQ refused the log event") from None
        except (OperationalError, OSError):
            _UNAVAILABLE.inc()
            raise ServiceUnavailable("RabbitMQ is unavailable") from None
        _CONFIRMED.inc()

    def close(self) -> None:
        if self._reaper is not None:
            self._reaper.kill()
        for pipeline in self._pipelines:
            if pipeline is not None:
                pipeline.close()
        self._producers.force_close_all()
        self._producers.connections.force_close_all()

    def _publish(self, event: OutgoingEvent) -> None:
        """On a pipeline when one is open (the happy path: no timer, no retry policy, nothing
        made but the message); by the retrying path, with what is left of the deadline, when
        none is or the pipeline failed."""
        started = monotonic()
        pipeline = self._pipeline()
        if pipeline is not None:
            message = amqp.Message(
                json.dumps({"name": event.name, "data": event.data}),
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=PERSISTENT,
                priority=0,
                message_id=event.id,
                application_headers={REQUEST_ID_AMQP_HEADER: event.request_id},
            )
            outcome = pipeline.publish(message, routing_key(event.level), event.id)
            if outcome is None:
                return
            if isinstance(outcome, ChannelError):
                raise ChannelError(str(outcome))
            log.info("publishing a log event again after %s: %s", type(outcome).__name__, outcome)
        self._publish_with_retries(event, started)

    def _pipeline(self) -> _Pipeline | None:
        """The next open pipeline, or None (go by the retrying path) while one is opening or
        RabbitMQ was unreachable a moment ago."""
        self._turn = turn = (self._turn + 1) % len(self._pipelines)
        pipeline = self._pipelines[turn]
        if pipeline is not None and pipeline.failure is None:
            return pipeline
        if turn in self._opening or monotonic() < self._reopen_at:
            return None
        self._opening.add(turn)
        try:
            pipeline = self._pipelines[turn] = self._open_pipeline()
        except Exception as exc:  # whatever it was, the retrying path meets it again and says
            log.info("cannot open a publishing connection to RabbitMQ: %s", exc)
            self._pipelines[turn] = None
            self._reopen_at = monotonic() + REOPEN_SECONDS
            return None
        finally:
            self._opening.discard(turn)
        if self._reaper is None:
            self._reaper = eventlet.spawn(self._reap)
        return pipeline

    def _open_pipeline(self) -> _Pipeline:
        connection = self._connection.clone()
        try:
            with eventlet.Timeout(self._timeout, PublishDeadline("opening took too long")):
                # Every node of the list once, without the retry policy's pauses: this runs in
                # a caller's request, and the retrying path is there for the rest.
                connection.ensure_connection(
                    max_retries=self._retry_policy["max_retries"],
                    interval_start=0,
                    interval_step=0,
                    interval_max=0,
                )
                return _Pipeline(connection, self._timeout and self._timeout / 2)
        except BaseException:
            connection.collect()
            raise

    def _reap(self) -> None:
        while True:
            eventlet.sleep(REAP_SECONDS)
            now = monotonic()
            for pipeline in self._pipelines:
                if pipeline is not None:
                    pipeline.reap(now)

    def _give_up_after(self, started: float) -> Any:
        """A kombu errback (called before each retry, the failed connection already closed) that
        ends the retries once the publish timeout has passed."""

        def errback(exc: Exception, interval: float) -> None:
            if self._timeout is not None and monotonic() - started > self._timeout:
                raise PublishDeadline(f"no RabbitMQ node confirmed in {self._timeout:g} s: {exc}")

        return errback

    def _publish_with_retries(self, event: OutgoingEvent, started: float) -> None:
        """kombu's publish with retries over the nodes of the list, within what is left of the
        publish timeout: the path of a publish that met a failure, or of no open pipeline."""
        policy = {**self._retry_policy, "errback": self._give_up_after(started)}
        deadline = PublishDeadline(f"no RabbitMQ node confirmed in {self._timeout} s")
        left = None if self._timeout is None else max(self._timeout - (monotonic() - started), 0)
        with self._producers.acquire(block=True) as producer:
            try:
                with eventlet.Timeout(left, deadline):
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
    retrying path's connection pool), RABBIT_PUBLISH_TIMEOUT (seconds for a confirm, failover
    included)."""

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
