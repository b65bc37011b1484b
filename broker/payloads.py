"""What the broker accepts: the parts of a request body, validated by `common.validation`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.errors import InvalidInput
from common.log_topology import DEFAULT_LOG_LEVEL
from common.validation import AnId, LogEntry, LogLevel

DEFAULT_LOGS_LIMIT = 20
MAX_LOGS_LIMIT = 1000


class LogRequest(LogEntry):
    """A log entry, its level (which also picks the routing key on the RabbitMQ path) and,
    optionally, the caller's idempotency key (the `Idempotency-Key` header may give it too)."""

    level: LogLevel = DEFAULT_LOG_LEVEL
    idempotency_key: AnId | None = None


@dataclass(frozen=True)
class OutgoingEvent:
    """A log entry on its way to the logger, by whichever transport."""

    name: str
    data: str
    level: str
    id: str
    request_id: str


def mail_part(body: dict[str, Any]) -> dict[str, Any]:
    """The `mail` object; its fields are checked by the mailer, which owns the rules."""
    mail = body.get("mail")
    if mail is None:
        raise InvalidInput("mail is required")
    if not isinstance(mail, dict):
        raise InvalidInput("mail must be an object")
    return mail


def logs_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LOGS_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LOGS_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LOGS_LIMIT}")
    return int(raw)
