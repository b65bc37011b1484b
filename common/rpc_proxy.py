"""An RPC proxy for callers that answer people: it fails fast, and it never waits forever.

Nameko 2's `RpcProxy` waits for a reply forever, and a call to a service whose queue exists but
that is stopped waits just the same. `TimeoutRpcProxy("auth", timeout_key="AUTH_RPC_TIMEOUT")`
answers every call within its deadline, in one of three ways:

- `ServiceUnavailable` (503) within a third of a second when nobody can take the call: the
  service's queue has no consumer (no instance running) or does not exist, or RabbitMQ cannot be
  reached. The consumer count comes from a passive declaration of the queue, one round trip to
  RabbitMQ per call (asked again after short pauses when it is zero; for up to 2.4 s in the 30 s
  after a node of the cluster left, while quorum queues may answer zero for want of a leader).
- `DownstreamUnavailable` (504) when a running service did not answer within the deadline read
  from the container config (seconds). The request is published with the same expiry, so one
  that nobody picked up in time is dropped by RabbitMQ instead of running late.
- the reply, or the declared error the service raised (common/errors.py).

The reply queue is exclusive and deleted with its connection, so after RabbitMQ or a cluster node
comes back it is declared again wherever the caller reconnects.
"""

from __future__ import annotations

import logging
import uuid
from time import monotonic, perf_counter
from typing import Any

from eventlet import Timeout, sleep
from eventlet.semaphore import Semaphore
from kombu import Connection, Queue
from nameko.amqp.publish import UndeliverableMessage
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import UnknownService
from nameko.rpc import (
    RPC_QUEUE_TEMPLATE,
    RPC_REPLY_QUEUE_TEMPLATE,
    MethodProxy,
    ReplyListener,
    RpcProxy,
    RpcReply,
    ServiceProxy,
    get_rpc_exchange,
)

from common.amqp_uri import failover_policy
from common.errors import DownstreamUnavailable, ServiceError, ServiceUnavailable
from common.metrics import RPC_CLIENT_DURATION
from common.queue_consumer import AMQP_ERRORS, RobustQueueConsumer
from common.readiness import Check, run_check
from common.rpc import SHORT_RETRY_POLICY, QuickPublisher
from common.settings import Seconds, settings_for, single_setting

log = logging.getLogger(__name__)

# Seconds between the consumer counts asked again before a call is refused (`_has_consumers`).
CONSUMER_RECHECK_PAUSES = (0.1, 0.25)
# For this long after RabbitMQ dropped the connection that asks (a node left), a zero is asked
# again for longer: a quorum queue answers "no consumers" whenever its leader cannot be asked
# (RabbitMQ's `rabbit_quorum_queue:stat` returns {ok, 0, 0} then), and its leader moves only when
# the old leader's node finishes stopping, seconds after it dropped its connections (measured on
# a 3-node cluster: ~6 s after, and up to ~1 s of zeros).
UNSETTLED_SECONDS = 30.0
UNSETTLED_RECHECK_PAUSES = (0.1, 0.25, 0.5, 0.5, 0.5, 0.5)


class ExclusiveReplyListener(ReplyListener):
    """Nameko's reply listener on an exclusive, auto-deleted queue, with calls it can forget."""

    queue_consumer = RobustQueueConsumer()

    def setup(self) -> None:
        super().setup()
        self.queue = Queue(
            RPC_REPLY_QUEUE_TEMPLATE.format(self.container.service_name, self.routing_key),
            exchange=get_rpc_exchange(self.container.config),
            routing_key=self.routing_key,
            durable=False,
            exclusive=True,
            auto_delete=True,
        )

    def forget(self, correlation_id: str) -> None:
        """Stop waiting for a reply (a late one is then dropped as "unknown correlation id").
        Nameko keeps one event per pending call in `_reply_events` and offers no way to drop it;
        tests/check the attribute (common/tests/test_rpc_proxy.py)."""
        self._reply_events.pop(correlation_id, None)


class ConsumerCount:
    """How many consumers a queue has, asked of RabbitMQ on one connection of its own."""

    def __init__(self, amqp_uri: str) -> None:
        self._policy = failover_policy(amqp_uri, SHORT_RETRY_POLICY)
        self._connection = Connection(
            amqp_uri, connect_timeout=1, transport_options=dict(self._policy)
        )
        self._channel: Any = None
        self._lock = Semaphore()
        self._lost_at = -UNSETTLED_SECONDS  # when RabbitMQ last dropped this connection

    def unsettled(self) -> bool:
        """Whether this connection was dropped lately: a node left, and the quorum queues it
        led are moving to other nodes, which for a while report no consumers."""
        return monotonic() - self._lost_at < UNSETTLED_SECONDS

    def of(self, queue: str) -> int:
        """Consumers of `queue` (0 when it does not exist); raises ServiceUnavailable when
        RabbitMQ cannot be reached."""
        with self._lock:
            for attempt in (1, 2):  # a connection RabbitMQ dropped is reopened once
                try:
                    if self._channel is None:
                        connection = self._connection.ensure_connection(
                            max_retries=self._policy["max_retries"]
                        )
                        self._channel = connection.channel()
                    return self._channel.queue_declare(queue, passive=True).consumer_count
                except AMQP_ERRORS as exc:
                    self._channel = None
                    if _is_not_found(exc):
                        return 0
                    self._lost_at = monotonic()
                    self._connection.collect()
                    if attempt == 2:
                        raise ServiceUnavailable("RabbitMQ is unavailable") from None
                except Timeout:
                    # The caller's deadline, mid-question: the answer may still come on this
                    # channel, so it is dropped with its connection (no closing handshake).
                    self._channel = None
                    self._connection.collect()
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._connection.collect()


def _is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "code", None) == 404


class TimeoutMethodProxy(MethodProxy):
    publisher_cls = QuickPublisher

    def __init__(self, *args: Any, timeout: float, consumers: ConsumerCount, **options: Any):
        self.timeout = timeout
        self.consumers = consumers
        super().__init__(*args, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = perf_counter()
        outcome = "error"
        try:
            result = self._call_with_deadline(*args, **kwargs)
            outcome = "ok"
            return result
        except ServiceUnavailable:
            outcome = "unavailable"
            raise
        except DownstreamUnavailable:
            outcome = "timeout"
            raise
        except ServiceError:
            outcome = "expected"
            raise
        finally:
            RPC_CLIENT_DURATION.labels(
                self.container.service_name, f"{self.service_name}.{self.method_name}", outcome
            ).observe(perf_counter() - started)

    def _has_consumers(self) -> bool:
        """Whether an instance of the service consumes its queue. A quorum queue reports no
        consumer while its leader moves to another node, so a zero is asked again after short
        pauses before the call is refused, longer ones while the cluster is unsettled (see
        UNSETTLED_SECONDS); a service that is really down costs its caller that much more."""
        queue = RPC_QUEUE_TEMPLATE.format(self.service_name)
        pauses = UNSETTLED_RECHECK_PAUSES if self.consumers.unsettled() else CONSUMER_RECHECK_PAUSES
        for pause in (*pauses, None):
            if self.consumers.of(queue):
                return True
            if pause is not None:
                sleep(pause)
        return False

    def _call_with_deadline(self, *args: Any, **kwargs: Any) -> Any:
        target = f"{self.service_name}.{self.method_name}"
        correlation_id = str(uuid.uuid4())
        # The deadline covers the whole call: asking RabbitMQ for consumers and publishing wait
        # too when a node that lost its quorum neither answers nor confirms.
        deadline = Timeout(self.timeout)
        try:
            if not self._has_consumers():
                raise ServiceUnavailable(f"{self.service_name} service is not running")
            try:
                reply = self._publish(correlation_id, args, kwargs)
            except UnknownService:
                raise ServiceUnavailable(f"{self.service_name} service is not running") from None
            except AMQP_ERRORS:
                raise ServiceUnavailable("RabbitMQ is unavailable") from None
            return reply.result()
        except Timeout as timeout:
            if timeout is not deadline:
                raise
            self.reply_listener.forget(correlation_id)
            raise DownstreamUnavailable(
                f"{target} did not answer within {self.timeout:g} s"
            ) from None
        finally:
            deadline.cancel()

    def _publish(self, correlation_id: str, args: Any, kwargs: Any) -> RpcReply:
        """Nameko's `MethodProxy._call`, with the correlation id chosen here so that a call that
        fails or times out can be forgotten."""
        reply_event = self.reply_listener.get_reply_event(correlation_id)
        try:
            self.publisher.publish(
                {"args": args, "kwargs": kwargs},
                exchange=get_rpc_exchange(self.container.config),
                routing_key=f"{self.service_name}.{self.method_name}",
                mandatory=True,
                reply_to=self.reply_listener.routing_key,
                correlation_id=correlation_id,
                extra_headers=self.get_message_headers(self.worker_ctx),
            )
        except UndeliverableMessage:
            self.reply_listener.forget(correlation_id)
            raise UnknownService(self.service_name) from None
        except BaseException:
            self.reply_listener.forget(correlation_id)
            raise
        return RpcReply(reply_event)


class TimeoutServiceProxy(ServiceProxy):
    def __init__(self, *args: Any, timeout: float, consumers: ConsumerCount, **options: Any):
        self.timeout = timeout
        self.consumers = consumers
        super().__init__(*args, **options)

    def __getattr__(self, name: str) -> TimeoutMethodProxy:
        return TimeoutMethodProxy(
            self.worker_ctx,
            self.service_name,
            name,
            self.reply_listener,
            timeout=self.timeout,
            consumers=self.consumers,
            **self.options,
        )


class TimeoutRpcProxy(RpcProxy):
    rpc_reply_listener = ExclusiveReplyListener()

    def __init__(self, target_service: str, timeout_key: str, **options: Any) -> None:
        super().__init__(target_service, **options)
        self.timeout_key = timeout_key

    def setup(self) -> None:
        super().setup()
        self.timeout = settings_for(self.container, single_setting(self.timeout_key, Seconds)).value
        self.consumers = ConsumerCount(self.container.config[AMQP_URI_CONFIG_KEY])

    def readiness(self) -> dict[str, Check]:
        """Whether anyone consumes the target's queue: reported, never required (a caller still
        serves its other work while one service behind it is down)."""

        def probe() -> str:
            count = self.consumers.of(RPC_QUEUE_TEMPLATE.format(self.target_service))
            if count == 0:
                raise ServiceUnavailable(f"{self.target_service} service is not running")
            return f"{count} consumer(s)"

        return {f"{self.target_service} service": run_check(probe, required=False)}

    def stop(self) -> None:
        self.consumers.close()

    def kill(self) -> None:
        self.consumers.close()

    def get_dependency(self, worker_ctx: Any) -> TimeoutServiceProxy:
        return TimeoutServiceProxy(
            worker_ctx,
            self.target_service,
            self.rpc_reply_listener,
            timeout=self.timeout,
            consumers=self.consumers,
            expiration=self.timeout,
            **self.options,
        )
