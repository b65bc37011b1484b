"""Reading one page of a log listing: the indexes, the time bounds a page request sets, and the
plain indexed query, which is the whole answer on MongoDB (it walks an index in the order of the
sort and stops after `limit` entries). `logger.windowed_reader` is the other way, for a server
that reads every match before it limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection

from logger.log_query import Cursor, Direction, PageRequest, Position

NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
OLDEST_FIRST = [("created_at", ASCENDING), ("_id", ASCENDING)]
# Every listing is an equality on level and/or name, then the time order: one index per shape,
# so neither server reads entries of another level or name to find a page.
INDEXES = {
    "created_at_newest_first": NEWEST_FIRST,
    "level_newest_first": [("level", ASCENDING), *NEWEST_FIRST],
    "name_newest_first": [("name", ASCENDING), *NEWEST_FIRST],
    "name_level_newest_first": [("name", ASCENDING), ("level", ASCENDING), *NEWEST_FIRST],
}


@dataclass(frozen=True)
class Batch:
    """One page's documents in the order of travel, and where the next page that way starts
    (None: nothing further matches)."""

    documents: list[dict[str, Any]]
    resume: Position | None
    pace: timedelta | None = None  # the time per entry here (see `Cursor.pace`)


@dataclass(frozen=True)
class Page:
    """Documents newest first, and the cursors to the older page and the newer one."""

    documents: list[dict[str, Any]]
    next: str | None
    prev: str | None


class Reader(Protocol):
    def read(self, collection: Collection, request: PageRequest) -> Batch: ...


def read_page(reader: Reader, collection: Collection, request: PageRequest) -> Page:
    batch = reader.read(collection, request)
    older = request.direction is Direction.OLDER
    documents = batch.documents if older else batch.documents[::-1]
    # Ahead of the page (in its direction): what the read found. Behind it: where it came from.
    ahead = Cursor(batch.resume, request.direction, batch.pace).encode() if batch.resume else None
    behind = None
    if request.start is not None:
        edge = position_of(documents[0 if older else -1]) if documents else request.start
        back = Direction.NEWER if older else Direction.OLDER
        behind = Cursor(edge, back, batch.pace).encode()
    if older:
        return Page(documents, next=ahead, prev=behind)
    return Page(documents, next=behind, prev=ahead)


@dataclass(frozen=True)
class Bounds:
    """The time range a page may come from: `lower` inclusive, `upper` exclusive unless a tie
    is there. `tie` is the entry the page starts after: in its millisecond `_id` decides."""

    lower: datetime | None
    upper: datetime | None
    upper_inclusive: bool
    tie: Position | None

    @staticmethod
    def of(request: PageRequest) -> Bounds:
        query, start = request.query, request.start
        lower, upper = query.since, query.until
        if start is None:
            return Bounds(lower, upper, False, None)
        inside = (lower is None or start.created_at >= lower) and (
            upper is None or start.created_at < upper
        )
        tie = start if start.id is not None and inside else None
        if request.direction is Direction.NEWER:
            if lower is None or start.created_at >= lower:
                lower = start.created_at
            return Bounds(lower, upper, False, tie)
        if upper is None or start.created_at < upper:
            return Bounds(lower, start.created_at, tie is not None, tie)
        return Bounds(lower, upper, False, tie)


def ids_beyond(tie: Position, older: bool) -> list[dict[str, Any]]:
    """Conditions on `_id` that, within the tie's millisecond, select the entries past it.

    MongoDB compares values of one type only, and ids are the writers' strings or, for entries
    stored before ids came from writers, ObjectIds, which sort after every string.
    """
    conditions: list[dict[str, Any]] = [{"_id": {"$lt" if older else "$gt": tie.id}}]
    if older and isinstance(tie.id, ObjectId):
        conditions.append({"_id": {"$type": "string"}})
    elif not older and not isinstance(tie.id, ObjectId):
        conditions.append({"_id": {"$type": "objectId"}})
    return conditions


def position_of(document: dict[str, Any]) -> Position:
    return Position(document["created_at"], document["_id"])


def finish(documents: list[dict[str, Any]], limit: int, pace: timedelta | None = None) -> Batch:
    # One document more than the page was asked for: it says whether anything lies beyond.
    if len(documents) > limit:
        return Batch(documents[:limit], position_of(documents[limit - 1]), pace)
    return Batch(documents, None, pace)


class IndexedReader:
    """The plain query: keyset bounds, sort and limit in one find, as MongoDB plans it best."""

    def read(self, collection: Collection, request: PageRequest) -> Batch:
        bounds = Bounds.of(request)
        older = request.direction is Direction.OLDER
        time_range: dict[str, Any] = {}
        if bounds.lower is not None:
            time_range["$gte"] = bounds.lower
        if bounds.upper is not None:
            time_range["$lte" if bounds.upper_inclusive else "$lt"] = bounds.upper
        selector = request.query.selector()
        if time_range:
            selector["created_at"] = time_range
        if bounds.tie is not None:
            # Within the cursor's millisecond only `_id` orders entries: the index bounds stay a
            # plain range on created_at and this is checked on the index keys.
            beyond = {"$lt" if older else "$gt": bounds.tie.created_at}
            selector["$or"] = [{"created_at": beyond}, *ids_beyond(bounds.tie, older)]
        order = NEWEST_FIRST if older else OLDEST_FIRST
        cursor = collection.find(selector).sort(order).limit(request.limit + 1)
        return finish(list(cursor), request.limit)
