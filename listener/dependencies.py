"""Dependency providers of the listener: batched writes to the logger, and redelivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.extensions import DependencyProvider

from common.validation import LogEntry
from listener.batching import GroupCommit
from listener.queues import DEAD_LETTER_QUEUE, RETRY_QUEUE
from listener.retries import Redeliverer, RetryPolicy

WriteLogs = Callable[[list[dict[str, str]]], Any]


class LogWriter:
    def __init__(self, batcher: GroupCommit[dict[str, str], Any]) -> None:
        self._batcher = batcher

    def store(self, entry: LogEntry, write_logs: WriteLogs) -> None:
        """Return once `entry` is stored, as part of a batch written with one `write_logs` call.

        Raises what `write_logs` raised: then no entry of the batch is known to be stored.
        """
        self._batcher.submit(entry.model_dump(), write_logs)


class LogBatch(DependencyProvider):
    """One group-commit batcher per container, shared by all its workers.

    Config: `BATCH_MAX_SIZE` entries per write, `BATCH_LINGER` seconds a batch waits to fill.
    """

    def setup(self) -> None:
        config = self.container.config
        self.batcher: GroupCommit[dict[str, str], Any] = GroupCommit(
            max_size=int(config.get("BATCH_MAX_SIZE", 100)),
            linger=float(config.get("BATCH_LINGER", 0.01)),
        )

    def get_dependency(self, worker_ctx: Any) -> LogWriter:
        return LogWriter(self.batcher)


class Redelivery(DependencyProvider):
    """Republishes messages to the retry or dead-letter queue, waiting for RabbitMQ's confirm.

    Config: `RETRY_MAX_ATTEMPTS`, `RETRY_BACKOFF_BASE` and `RETRY_BACKOFF_MAX` (seconds).
    """

    def setup(self) -> None:
        config = self.container.config
        self.policy = RetryPolicy.from_config(config)
        self.publisher = Publisher(
            config[AMQP_URI_CONFIG_KEY],
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
            use_confirms=True,
            # Unroutable would mean a queue is missing: fail (and requeue) instead of dropping.
            mandatory=True,
            declare=[RETRY_QUEUE, DEAD_LETTER_QUEUE],
        )

    def get_dependency(self, worker_ctx: Any) -> Redeliverer:
        return Redeliverer(self.publisher.publish, self.policy)
