"""What the broker accepts: the parts of a request body, validated by `common.validation`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common.errors import InvalidInput
from common.log_topology import DEFAULT_LOG_LEVEL, LOG_LEVELS
from common.validation import MAX_LOG_NAME_CHARS, MAX_LOG_SEARCH_CHARS, AnId, LogEntry, LogLevel

DEFAULT_LOGS_LIMIT = 20
MAX_LOGS_LIMIT = 1000
LOGS_PARAMETERS = ("level", "name", "since", "until", "q", "cursor", "limit")
MAX_CURSOR_CHARS = 1024
# A cursor is base64url without padding (the logger decodes and checks the rest).
_CURSOR = re.compile(r"[A-Za-z0-9_-]+")


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


def logs_query(args: Mapping[str, list[str]]) -> dict[str, Any]:
    """The keyword arguments of the logger's `page` RPC from `GET /logs`' query string.

    Checked at the door, so a mistake costs no RPC and its 400 names the parameter: unknown or
    repeated parameters, the level, ISO 8601 times (without an offset: UTC), lengths, the
    limit and a cursor's characters. An empty value means "not given" (as a form sends it). The
    logger checks again (it owns the rules for RPC callers) and decodes the cursor.
    """
    query: dict[str, Any] = {}
    for key, values in args.items():
        if key not in LOGS_PARAMETERS:
            raise InvalidInput(f"unknown parameter {key!r}: use {', '.join(LOGS_PARAMETERS)}")
        if len(values) > 1:
            raise InvalidInput(f"{key} is given more than once")
        if values[0] != "":
            query[key] = values[0]
    query["limit"] = logs_limit(query.get("limit"))
    if "level" in query:
        query["level"] = _level(query["level"])
    if "name" in query and len(query["name"]) > MAX_LOG_NAME_CHARS:
        raise InvalidInput(f"name must be at most {MAX_LOG_NAME_CHARS} characters")
    if "q" in query and len(query["q"]) > MAX_LOG_SEARCH_CHARS:
        raise InvalidInput(f"q must be at most {MAX_LOG_SEARCH_CHARS} characters")
    for key in ("since", "until"):
        if key in query:
            query[key] = _iso_time(query[key], key)
    if "since" in query and "until" in query and query["since"] >= query["until"]:
        raise InvalidInput("since must be before until")
    for key in ("since", "until"):
        if key in query:
            query[key] = query[key].isoformat(timespec="milliseconds")
    cursor = query.get("cursor")
    if cursor is not None and (len(cursor) > MAX_CURSOR_CHARS or not _CURSOR.fullmatch(cursor)):
        raise InvalidInput("cursor is not valid")
    return query


def _level(raw: str) -> str:
    if raw.upper() not in LOG_LEVELS:
        raise InvalidInput(f"level must be one of {', '.join(LOG_LEVELS)}")
    return raw.upper()


def _iso_time(raw: str, key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        hint = " (send the '+' of an offset as %2B)" if " " in raw else ""
        raise InvalidInput(
            f"{key} must be an ISO 8601 time, e.g. 2026-12-02T10:00:00Z{hint}"
        ) from None
    if moment.year < 1970:
        raise InvalidInput(f"{key} must be after 1970")
    return moment
