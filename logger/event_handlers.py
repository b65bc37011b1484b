"""An event handler that does not lose events to a storage outage.

Nameko's `event_handler` either acks every message after its worker (a MongoDB outage loses the
event) or, with `requeue_on_error`, requeues every failure (a malformed event comes back forever).
This one requeues only when storage was unavailable, which is worth another try; the attempt
itself waits out the MongoDB server-selection timeout, so retries are paced, not a busy loop.
"""

from __future__ import annotations

from typing import Any

from common.errors import DownstreamUnavailable
from common.event_handlers import EventHandler


class StoringEventHandler(EventHandler):
    def handle_message_processed(
        self, message: Any, result: Any = None, exc_info: Any = None
    ) -> None:
        if exc_info is not None and issubclass(exc_info[0], DownstreamUnavailable):
            self.queue_consumer.requeue_message(message)
        else:
            self.queue_consumer.ack_message(message)


event_handler = StoringEventHandler.decorator
