"""An EventDispatcher that waits for RabbitMQ when the service starts before it.

Nameko's consumers retry the connection ("Error connecting to broker ... Retrying in N seconds"),
but `EventDispatcher.setup()` declares its exchange on a single attempt and a service that starts
before RabbitMQ crashes with a traceback. This one waits the same way the consumers do.
"""

from __future__ import annotations

import logging

from kombu import Connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import EventDispatcher
from nameko.utils import sanitize_url

log = logging.getLogger(__name__)


class PatientEventDispatcher(EventDispatcher):
    def setup(self) -> None:
        uri = self.container.config[AMQP_URI_CONFIG_KEY]

        def retrying(exc: Exception, interval: float) -> None:
            log.warning(
                "Error connecting to broker at %s (%s).\nRetrying in %s seconds.",
                sanitize_url(uri),
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
