"""An EventDispatcher that waits for RabbitMQ at start and fails fast once running.

At start: Nameko's consumers retry the connection ("Error connecting to broker ... Retrying in N
seconds"), but `EventDispatcher.setup()` declares its exchange on a single attempt, so a service
that starts before RabbitMQ crashed with a traceback. This one waits the same way the consumers
do.

Running: Nameko's publisher retries a failed publish for many seconds. Here a dispatch gives up
after about a second and raises `ServiceUnavailable` (503), so the worker that dispatched answers
its caller instead of hanging while RabbitMQ is away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kombu import Connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import EventDispatcher

from common.amqp_uri import sanitize_amqp_uri
from common.errors import ServiceUnavailable
from common.queue_consumer import AMQP_ERRORS
from common.rpc import QuickPublisher

log = logging.getLogger(__name__)


class PatientEventDispatcher(EventDispatcher):
    publisher_cls = QuickPublisher

    def setup(self) -> None:
        uri = self.container.config[AMQP_URI_CONFIG_KEY]

        def retrying(exc: Exception, interval: float) -> None:
            log.warning(
                "Error connecting to broker at %s (%s).\nRetrying in %s seconds.",
                sanitize_amqp_uri(uri),
                exc,
                interval,
            )

        with Connection(uri) as connection:
            connection.ensure_connection(
                errback=retrying,
                max_retries=None,
                interval_start=2,
                interval_step=2,
                interval_max=30,
            )
        super().setup()

    def get_dependency(self, worker_ctx: Any) -> Callable[..., None]:
        dispatch = super().get_dependency(worker_ctx)

        def dispatch_or_fail(event_type: str, event_data: Any, **kwargs: Any) -> None:
            try:
                dispatch(event_type, event_data, **kwargs)
            except AMQP_ERRORS:
                raise ServiceUnavailable("RabbitMQ is unavailable") from None

        return dispatch_or_fail
