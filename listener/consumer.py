"""A Nameko entrypoint that hands the service a batch of raw AMQP deliveries per worker.

A Nameko worker per message (a thread, a worker, dependency injection) costs the listener far
more CPU than storing the message does. Here messages gather into a batch that goes to ONE worker
once it holds `BATCH_MAX_SIZE` messages or `BATCH_LINGER` seconds after its first one arrived
(`BatchLimits`, read from the container's config).
The worker gets each message's bytes undecoded (a body that is not JSON must reach the service,
which dead-letters it, rather than raise inside kombu). When the service method returns, each
message of its batch is acknowledged; if it raises, they are all requeued.

Everything else is Nameko's QueueConsumer as it is: reconnection, graceful stop. `max_workers`
now counts batches in flight, so the prefetch is `max_workers` full batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

import eventlet
from eventlet.event import Event
from eventlet.queue import Empty, LightQueue
from kombu import Queue
from kombu.message import Message
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer
from pydantic import Field

from common.queue_consumer import RobustQueueConsumer
from common.settings import Count, ServiceSettings, settings_for
from listener.deliveries import Delivery

Arrival = tuple[Delivery, Message]
_STOP = None  # queued after the last arrival when the entrypoint stops


class BatchLimits(ServiceSettings):
    """At most `max_size` messages per batch; a batch waits at most `linger` s to fill up."""

    service = "listener"

    max_size: Count = Field(alias="BATCH_MAX_SIZE")
    linger: Annotated[float, Field(ge=0)] = Field(alias="BATCH_LINGER")


class BatchQueueConsumer(RobustQueueConsumer):
    """Nameko's QueueConsumer, except that kombu does not decode the messages, that each one goes
    to its entrypoint in this thread (which only queues it: no thread per message), and that the
    prefetch leaves room for `max_workers` full batches."""

    @property
    def prefetch_count(self) -> int:
        return self.container.max_workers * settings_for(self.container, BatchLimits).max_size

    def get_consumers(self, consumer_cls: Callable[..., Any], channel: Any) -> Any:
        def undecoding_consumer(*, callbacks: list[Callable[..., Any]], **options: Any) -> Any:
            # Nameko registers one callback(body, message) per consumer; `on_message` replaces
            # kombu's decode-then-callbacks step.
            (callback,) = callbacks
            return consumer_cls(
                on_message=lambda message: callback(message.body, message), **options
            )

        return super().get_consumers(undecoding_consumer, channel)

    def handle_message(self, provider: Consumer, body: Any, message: Message) -> None:
        provider.handle_message(body, message)


class BatchConsumer(Consumer):
    """Calls the decorated method with a `list[Delivery]`; acks each of their messages when it
    returns, requeues them all if it raises.

    Raising therefore means "these messages are neither handled nor safely handed on": the method
    itself must deal with expected failures (retry, dead-letter) and return. The requeue waits
    `requeue_delay` seconds, so that a failure that repeats does not spin at full speed. Batches
    run concurrently and may finish in any order, so each message is acked on its own.
    """

    queue_consumer = BatchQueueConsumer()

    def __init__(self, queue: Queue, requeue_delay: float = 1.0, **kwargs: Any) -> None:
        self.requeue_delay = requeue_delay
        super().__init__(queue, **kwargs)

    def setup(self) -> None:
        self.limits = settings_for(self.container, BatchLimits)
        self._arrivals: LightQueue = LightQueue()
        self._accepting = True
        self._collector: Any = None
        self._in_flight = 0
        self._settled = Event()  # sent whenever no batch is in flight
        self._settled.send()
        super().setup()

    def start(self) -> None:
        self._collector = self.container.spawn_managed_thread(
            self._collect, identifier=f"{type(self).__name__}.collect"
        )

    def stop(self) -> None:
        """Hand what has arrived to workers and wait for their acks before consuming stops (then
        the channel closes). Messages arriving meanwhile stay unacknowledged: RabbitMQ requeues
        them when the channel closes."""
        self._accepting = False
        if self._collector is not None:
            self._arrivals.put(_STOP)
            self._collector.wait()
        self._settled.wait()
        super().stop()

    def kill(self) -> None:
        """Give back the messages no worker has taken. The batch the collector is filling goes
        back when it meets the container being killed (at the latest when the channel closes)."""
        self._accepting = False
        while not self._arrivals.empty():
            arrival = self._arrivals.get()
            if arrival is not _STOP:
                self.queue_consumer.requeue_message(arrival[1])
        self._arrivals.put(_STOP)  # the collector hands over its batch now, without lingering

    def handle_message(self, body: Any, message: Message) -> None:
        # In the queue consumer's thread, which must not block.
        if self._accepting:
            self._arrivals.put((Delivery.from_message(message), message))

    def _collect(self) -> None:
        """Hand batches to workers until stopped; the last one takes what had arrived."""
        stopped = False
        while not stopped:
            batch, stopped = self._next_batch()
            if batch:
                self._dispatch(batch)

    def _next_batch(self) -> tuple[list[Arrival], bool]:
        """Wait for a first arrival, then take more until the batch is full or has lingered
        long enough. True once the entrypoint is stopping and nothing more will arrive."""
        first = self._arrivals.get()
        if first is _STOP:
            return [], True
        batch = [first]
        deadline = time.monotonic() + self.limits.linger
        while len(batch) < self.limits.max_size:
            try:
                arrival = self._arrivals.get(timeout=max(deadline - time.monotonic(), 0))
            except Empty:
                break
            if arrival is _STOP:
                return batch, True
            batch.append(arrival)
        return batch, False

    def _dispatch(self, batch: list[Arrival]) -> None:
        """One worker for the batch; blocks while `max_workers` batches are in flight."""
        deliveries = [delivery for delivery, _ in batch]
        messages = [message for _, message in batch]
        self._started()
        try:
            # No worker context: the batch has no one caller whose call id stack it continues.
            self.container.spawn_worker(
                self, (deliveries,), {}, handle_result=partial(self.handle_result, messages)
            )
        except ContainerBeingKilled:
            for message in messages:
                self.queue_consumer.requeue_message(message)
            self._finished()

    def handle_result(
        self, messages: list[Message], worker_ctx: Any, result: Any = None, exc_info: Any = None
    ) -> tuple[Any, Any]:
        try:
            if exc_info is None:
                for message in messages:
                    self.queue_consumer.ack_message(message)
            else:
                eventlet.sleep(self.requeue_delay)
                for message in messages:
                    self.queue_consumer.requeue_message(message)
        finally:
            self._finished()
        return result, exc_info

    def _started(self) -> None:
        if self._in_flight == 0:
            self._settled.reset()
        self._in_flight += 1

    def _finished(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._settled.send()


consume_batches = BatchConsumer.decorator
