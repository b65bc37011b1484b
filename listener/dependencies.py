"""Dependency provider of the listener: redelivery to its retry and dead-letter queues."""

from __future__ import annotations

from typing import Any

from kombu import Connection
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.extensions import DependencyProvider

from common import queues
from common.amqp_uri import failover_policy
from common.metrics import LISTENER_MESSAGES
from common.rpc import SHORT_RETRY_POLICY, QuickPublisher
from common.settings import settings_for
from listener.queues import DEAD_LETTER_QUEUE, RETRY_QUEUE
from listener.retries import Redeliverer, RetryPolicy


class Redelivery(DependencyProvider):
    """Republishes messages to the retry or dead-letter queue, waiting for RabbitMQ's confirm.

    Config: `RETRY_MAX_ATTEMPTS`, `RETRY_BACKOFF_BASE` and `RETRY_BACKOFF_MAX` (seconds).

    The two queues are declared before the first republish (through `common.queues`, which
    copes with classic queues left by earlier versions), not at start: RabbitMQ may not be
    there yet when the service starts.
    """

    def setup(self) -> None:
        self.policy = settings_for(self.container, RetryPolicy)
        # Nameko's own connection keys, read the way Nameko's extensions read them.
        config = self.container.config
        self.amqp_uri = config[AMQP_URI_CONFIG_KEY]
        self.publisher = QuickPublisher(
            self.amqp_uri,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
            use_confirms=True,
            # Unroutable would mean a queue is missing: fail (and requeue) instead of dropping.
            mandatory=True,
        )
        self.declared = False

    def publish(self, body: Any, **options: Any) -> None:
        if not self.declared:
            with Connection(self.amqp_uri) as connection:
                connection.ensure_connection(**failover_policy(self.amqp_uri, SHORT_RETRY_POLICY))
                for queue in (RETRY_QUEUE, DEAD_LETTER_QUEUE):
                    queues.declare(queue, connection)
            self.declared = True
        self.publisher.publish(body, **options)
        outcome = (
            "dead_lettered" if options.get("routing_key") == DEAD_LETTER_QUEUE.name else "retried"
        )
        LISTENER_MESSAGES.labels(outcome).inc()

    def get_dependency(self, worker_ctx: Any) -> Redeliverer:
        return Redeliverer(self.publish, self.policy)
