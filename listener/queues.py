"""The listener's queues next to `listener.logs` (common/log_topology.py).

A message whose entry could not be stored waits in the retry queue for its backoff delay (a
per-message expiration); when it expires, RabbitMQ dead-letters it back to `listener.logs` through
the default exchange. RabbitMQ expires messages only at the head of a queue, so a short delay
queued behind a long one waits for that one: a delay may come out longer than planned, never
shorter, and nothing is lost.

A message that failed too often, or whose body is not a log entry, goes to the dead-letter queue,
where it stays until someone looks at it (`python -m listener.dead_letters`).
"""

from __future__ import annotations

from common.log_topology import LISTENER_QUEUE_NAME
from common.queues import quorum_queue

RETRY_QUEUE = quorum_queue(
    f"{LISTENER_QUEUE_NAME}.retry",
    queue_arguments={
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": LISTENER_QUEUE_NAME,
    },
)
DEAD_LETTER_QUEUE = quorum_queue(f"{LISTENER_QUEUE_NAME}.dead")
