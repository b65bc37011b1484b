"""What happens to a message whose entry was not stored: retried later, or dead-lettered.

`Redeliverer` republishes the message's original bytes to the retry queue (with an expiration
that is the backoff delay) or to the dead-letter queue, with headers that carry the attempt count,
the reason and the original routing key. The publish function waits for RabbitMQ's publisher
confirm, and the caller acknowledges the original only after this returned: a message is never
dropped. (Should the listener die between the two, the message is in both queues and is handled
twice; at-least-once, like every acknowledgement after the work.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kombu import Queue
from pydantic import Field

from common.errors import ServiceError
from common.ids import REQUEST_ID_AMQP_HEADER
from common.settings import Count, Seconds, ServiceSettings
from listener.deliveries import (
    ATTEMPTS_HEADER,
    DEAD_LETTERED_AT_HEADER,
    REASON_HEADER,
    ROUTING_KEY_HEADER,
    Delivery,
    failed_attempts,
    original_routing_key,
    publisher_headers,
)
from listener.queues import DEAD_LETTER_QUEUE, RETRY_QUEUE

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500


class RetryPolicy(ServiceSettings):
    """Exponential backoff: base, 2 x base, 4 x base... capped at `backoff_max` seconds."""

    service = "listener"

    max_attempts: Count = Field(alias="RETRY_MAX_ATTEMPTS")
    backoff_base: Seconds = Field(alias="RETRY_BACKOFF_BASE")
    backoff_max: Seconds = Field(alias="RETRY_BACKOFF_MAX")

    def next_delay(self, failed: int) -> float | None:
        """Seconds to wait after the `failed`-th failed attempt; None means give up."""
        if failed >= self.max_attempts:
            return None
        return min(self.backoff_base * 2 ** (failed - 1), self.backoff_max)


def failure_reason(exc: BaseException) -> str:
    """A one-line reason for the headers: a service error's own message, else type and text."""
    text = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:MAX_REASON_CHARS]


class Redeliverer:
    """Moves a message the listener could not store to the queue it belongs in now.

    `publish(body, routing_key=..., headers=..., ...)` publishes to the default exchange, so the
    routing key is the queue name; it must raise unless RabbitMQ confirmed the message.
    """

    def __init__(self, publish: Callable[..., Any], policy: RetryPolicy) -> None:
        self._publish = publish
        self.policy = policy

    def retry(self, delivery: Delivery, reason: str) -> None:
        """Schedule another attempt after the backoff delay, or dead-letter when out of attempts."""
        attempts = failed_attempts(delivery.headers) + 1
        delay = self.policy.next_delay(attempts)
        if delay is None:
            self.dead_letter(delivery, f"gave up after {attempts} attempts: {reason}")
            return
        log.warning(
            "retrying message %s of request %s in %g s (attempt %d failed: %s)",
            delivery.message_id,
            delivery.headers.get(REQUEST_ID_AMQP_HEADER),
            delay,
            attempts,
            reason,
        )
        self._republish(delivery, RETRY_QUEUE, reason, attempts, expiration=delay)

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        attempts = failed_attempts(delivery.headers) + 1
        log.error(
            "dead-lettering message %s of request %s: %s",
            delivery.message_id,
            delivery.headers.get(REQUEST_ID_AMQP_HEADER),
            reason,
        )
        self._republish(
            delivery,
            DEAD_LETTER_QUEUE,
            reason,
            attempts,
            extra_headers={DEAD_LETTERED_AT_HEADER: datetime.now(UTC).isoformat()},
        )

    def _republish(
        self,
        delivery: Delivery,
        queue: Queue,
        reason: str,
        attempts: int,
        expiration: float | None = None,
        extra_headers: dict[str, Any] | None = None,
    ) -> None:
        headers = {
            **publisher_headers(delivery.headers),
            ATTEMPTS_HEADER: attempts,
            REASON_HEADER: reason[:MAX_REASON_CHARS],
            ROUTING_KEY_HEADER: original_routing_key(delivery.headers, delivery.routing_key),
            **(extra_headers or {}),
        }
        self._publish(
            delivery.body,
            routing_key=queue.name,
            headers=headers,
            message_id=delivery.message_id,
            # The original bytes go out untouched; kombu only needs to be told not to encode them.
            content_type=delivery.content_type or "application/octet-stream",
            content_encoding=delivery.content_encoding or "binary",
            expiration=expiration,
        )
