"""`@event_handler`: Nameko's event handler on a quorum queue, riding out RabbitMQ restarts.

Use it instead of `nameko.events.event_handler`. A SERVICE_POOL handler with reliable delivery
(Nameko's default) has a durable queue shared by every instance of the service: here it is a
quorum queue (common/queues.py), consumed through `RobustQueueConsumer`
(common/queue_consumer.py), so acknowledging on a connection that just died no longer kills the
service. Broadcast and unreliable handlers keep their exclusive or auto-deleted classic queues.
"""

from __future__ import annotations

from nameko.events import EventHandler as NamekoEventHandler

from common.queue_consumer import RobustQueueConsumer
from common.queues import as_quorum


class EventHandler(NamekoEventHandler):
    queue_consumer = RobustQueueConsumer()

    def setup(self) -> None:
        super().setup()
        self.queue = as_quorum(self.queue)


event_handler = EventHandler.decorator
