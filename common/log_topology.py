"""The RabbitMQ contract of the logging pipeline, shared by its publisher (broker) and consumer
(listener): the `logs_topic` exchange, the `log.<LEVEL>` routing keys and the listener's queue.

Both sides declare the durable queue and its bindings, so an event published before the listener
has ever run still has a queue to wait in.
"""

from __future__ import annotations

from kombu import Exchange, binding

from common.queues import quorum_queue

LOG_LEVELS = ("INFO", "WARNING", "ERROR")
DEFAULT_LOG_LEVEL = "INFO"

LOGS_EXCHANGE = Exchange("logs_topic", type="topic", durable=True)
LISTENER_QUEUE_NAME = "listener.logs"


def routing_key(level: str) -> str:
    return f"log.{level}"


LISTENER_QUEUE = quorum_queue(
    LISTENER_QUEUE_NAME,
    bindings=[binding(LOGS_EXCHANGE, routing_key=routing_key(level)) for level in LOG_LEVELS],
)
