"""Durable queues are quorum queues, declared explicitly, on one node or on a cluster.

Every durable queue of the system (the RPC queues, the event handlers' queues, `listener.logs` and
its retry and dead-letter queues) carries `x-queue-type: quorum`: replicated on every node of a
cluster, a publisher confirm means a quorum of nodes has the message, and the same declaration
works on RabbitMQ 3.10 (where a vhost cannot default to quorum) and on current releases. Queues
that die with their consumer (RPC reply queues) stay classic, exclusive and auto-deleted.

A queue declared with other arguments than an existing queue of the same name makes RabbitMQ
refuse the declaration (406 PRECONDITION_FAILED) and close the channel. That is what happens on
the first start after an upgrade, when an earlier run left classic queues behind. `declare()`
handles it without a crash loop: an empty, unused classic queue is replaced by a quorum queue at
once; one that still holds messages or has consumers is used as it is, with an error in the log
saying how to finish the migration (drain it, then restart the service).
"""

from __future__ import annotations

import logging
from typing import Any

from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Queue

log = logging.getLogger(__name__)

QUEUE_TYPE = "x-queue-type"
QUORUM = "quorum"


def quorum_queue(name: str, **options: Any) -> Queue:
    """A durable quorum queue; `queue_arguments` given are added to the queue type."""
    arguments = {**(options.pop("queue_arguments", None) or {}), QUEUE_TYPE: QUORUM}
    return Queue(name, durable=True, queue_arguments=arguments, **options)


def as_quorum(queue: Queue) -> Queue:
    """The same queue as a quorum queue, when it is one that should be (durable, shared)."""
    if not queue.durable or queue.exclusive or queue.auto_delete:
        return queue
    arguments = {**(queue.queue_arguments or {}), QUEUE_TYPE: QUORUM}
    return _same_queue(
        queue,
        durable=True,
        queue_arguments=arguments,
        consumer_arguments=queue.consumer_arguments,
    )


def _same_queue(queue: Queue, **options: Any) -> Queue:
    """`queue`'s name, exchange and bindings, with other options."""
    return Queue(
        queue.name,
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        bindings=queue.bindings,
        **options,
    )


def declare(queue: Queue, connection: Any) -> Queue:
    """Declare `queue` (and its bindings) on a channel of its own; returns the queue to consume.

    `connection` is a py-amqp or kombu connection. The returned queue is `queue` itself, or, when
    a classic queue of that name must be kept for now, a queue that consumes the existing one
    without declaring it again.
    """
    channel = connection.channel()
    try:
        queue(channel).declare()
        return queue
    except PreconditionFailed as refusal:
        if (queue.queue_arguments or {}).get(QUEUE_TYPE) != QUORUM:
            raise
        return _migrate(queue, connection, str(refusal))
    finally:
        _close_quietly(channel)


def _migrate(queue: Queue, connection: Any, refusal: str) -> Queue:
    channel = connection.channel()
    try:
        _, messages, consumers = channel.queue_declare(queue.name, passive=True)
        if messages == 0 and consumers == 0:
            channel.queue_delete(queue.name, if_unused=True, if_empty=True)
            queue(channel).declare()
            log.warning("queue %s was a classic queue, empty and unused: now quorum", queue.name)
            return queue
    except (NotFound, PreconditionFailed):
        # Gone or refilled meanwhile: the next start tries again; consume what is there now.
        pass
    finally:
        _close_quietly(channel)
    log.error(
        "queue %s exists with other arguments than this version declares (%s): consuming it as "
        "it is. To migrate it to a quorum queue, let it drain (stop its publishers), then "
        "restart this service.",
        queue.name,
        refusal,
    )
    return _same_queue(queue, no_declare=True)


def _close_quietly(channel: Any) -> None:
    try:
        channel.close()
    except Exception:  # a channel RabbitMQ already closed after a refusal
        log.debug("closing a refused channel failed", exc_info=True)
