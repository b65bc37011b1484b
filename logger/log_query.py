"""What a log listing asks for: filters, where a page starts, and the cursor that carries it.

Listings are newest first, ordered by `(created_at, _id)` descending: `_id` breaks ties between
entries stored in the same millisecond, so every entry has one place in the order and a page that
starts after an entry (keyset paging) never skips or repeats one while new entries arrive, as an
offset would. A cursor names a position and a direction (older or newer); it is opaque to
callers: base64url of a small JSON object, validated when it comes back.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from common.errors import InvalidInput
from common.validation import MAX_LOG_NAME_CHARS
from common.validation import MAX_LOG_SEARCH_CHARS as MAX_SEARCH_CHARS

LEVELS = ("INFO", "WARNING", "ERROR")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Where an older entry's id is the ObjectId MongoDB made (before ids came from the writer).
_OBJECT_ID_TAG = "o"


class Direction(StrEnum):
    OLDER = "older"
    NEWER = "newer"


@dataclass(frozen=True)
class Position:
    """A place in the order: just after the entry `(created_at, id)`, or, when `id` is None, the
    line between entries older than `created_at` and those at or after it (where a search that
    ran out of time stopped)."""

    created_at: datetime
    id: Any = None


@dataclass(frozen=True)
class LogQuery:
    """Which entries: each filter narrows the listing; `since` is inclusive, `until` exclusive."""

    level: str | None = None
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def selector(self) -> dict[str, Any]:
        """The filters other than time, as a MongoDB filter."""
        selector: dict[str, Any] = {}
        if self.name is not None:
            selector["name"] = self.name
        if self.level is not None:
            selector["level"] = self.level
        if self.text is not None:
            selector["data"] = {"$regex": re.escape(self.text), "$options": "i"}
        return selector


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts and which way it goes; `pace` is the time per entry near
    there, which a reader that reads by time starts from (None: unknown)."""

    position: Position
    direction: Direction
    pace: timedelta | None = None

    def encode(self) -> str:
        position = self.position
        state: dict[str, Any] = {"d": self.direction.value, "t": _millis(position.created_at)}
        if isinstance(position.id, ObjectId):
            state["i"], state[_OBJECT_ID_TAG] = str(position.id), 1
        elif position.id is not None:
            state["i"] = position.id
        if self.pace is not None:
            state["p"] = max(1, self.pace // timedelta(microseconds=1))
        raw = json.dumps(state, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(cursor: Any) -> Cursor:
        if not isinstance(cursor, str) or not cursor or len(cursor) > 1024:
            raise InvalidInput("cursor is not valid")
        try:
            state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            direction = Direction(state["d"])
            millis, entry_id, pace = state["t"], state.get("i"), state.get("p")
            if not _is_count(millis) or (pace is not None and not _is_count(pace)):
                raise ValueError
            if entry_id is not None and not isinstance(entry_id, str):
                raise ValueError
            if entry_id is not None and state.get(_OBJECT_ID_TAG):
                entry_id = ObjectId(entry_id)
            position = Position(EPOCH + timedelta(milliseconds=millis), entry_id)
            pace = timedelta(microseconds=pace) if pace is not None else None
        except (binascii.Error, ValueError, TypeError, KeyError, InvalidId, OverflowError):
            raise InvalidInput("cursor is not valid") from None
        return Cursor(position, direction, pace)


def _millis(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class PageRequest:
    query: LogQuery
    limit: int
    cursor: Cursor | None = None  # None: the newest page

    @property
    def start(self) -> Position | None:
        return self.cursor.position if self.cursor else None

    @property
    def direction(self) -> Direction:
        return self.cursor.direction if self.cursor else Direction.OLDER


def parse_query(
    level: Any = None, name: Any = None, since: Any = None, until: Any = None, text: Any = None
) -> LogQuery:
    if level is not None:
        if not isinstance(level, str) or level.upper() not in LEVELS:
            raise InvalidInput(f"level must be one of {', '.join(LEVELS)}")
        level = level.upper()
    if name is not None and (not isinstance(name, str) or not 0 < len(name) <= MAX_LOG_NAME_CHARS):
        raise InvalidInput(f"name must be a string of 1 to {MAX_LOG_NAME_CHARS} characters")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_SEARCH_CHARS):
        raise InvalidInput(f"q must be a string of at most {MAX_SEARCH_CHARS} characters")
    query = LogQuery(
        level=level,
        name=name,
        since=_parse_time(since, "since"),
        until=_parse_time(until, "until"),
        text=text or None,
    )
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise InvalidInput("since must be before until")
    return query


def _parse_time(value: Any, field: str) -> datetime | None:
    """An ISO 8601 time (a time without an offset is UTC), truncated to MongoDB's milliseconds."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{field} must be an ISO 8601 time") from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be an ISO 8601 time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value < EPOCH:
        raise InvalidInput(f"{field} must be after 1970")
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
