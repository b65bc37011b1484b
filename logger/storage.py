"""Log entries in MongoDB: the one storage module every way into the logger writes through.

Plain pymongo, no Nameko, so the Nameko service (through `LogStorage`), the gRPC server process
and the tests use it alike. Every write validates with `common.validation.LogEntry`, so the rules
are the same whichever transport an entry came by. A MongoDB failure leaves this module as
`DownstreamUnavailable` (unreachable or too slow: worth retrying) or `DownstreamError`, never as a
pymongo exception with internals in its text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from bson import ObjectId
from bson.codec_options import CodecOptions
from bson.errors import InvalidId
from pymongo import DESCENDING, MongoClient, ReturnDocument
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, PyMongoError

from common.errors import DownstreamError, DownstreamUnavailable, InvalidInput, NotFound
from common.validation import LogEntry, validate

log = logging.getLogger(__name__)

COLLECTION = "logs"
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
# How far back `all()` looks in widening windows before it reads the whole collection.
LOOKBACK_LIMIT = timedelta(days=3650)
# Newest first; `_id` breaks ties between entries stored in the same millisecond.
NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]


class LogRecord(TypedDict):
    """A stored entry as the logger hands it out (plain JSON types, so it crosses any transport)."""

    id: str
    name: str
    data: str
    created_at: str
    updated_at: str


def mongo_client(uri: str, timeout_ms: int) -> MongoClient:
    """The process's one MongoClient (it pools connections); `timeout_ms` bounds finding a server
    and every operation."""
    return MongoClient(uri, timeoutMS=timeout_ms, appname="logger")


class LogStore:
    """The `logs` collection of one database, with the operations the logger offers."""

    def __init__(self, database: Database) -> None:
        # Timezone-aware datetimes whatever the client's options, so timestamps carry "+00:00".
        codec_options = CodecOptions(tz_aware=True, tzinfo=UTC)
        self._collection = database.get_collection(COLLECTION, codec_options=codec_options)
        self._indexed = False

    def insert(self, name: Any, data: Any) -> LogRecord:
        entry = validate(LogEntry, {"name": name, "data": data})
        document = _new_document(entry)
        with _storage_errors():
            self._ensure_index()
            self._collection.insert_one(document)
        return _record(document)

    def insert_many(self, entries: Sequence[Mapping[str, Any]]) -> int:
        """Store a batch in one round trip; all entries are validated before any is stored."""
        if not isinstance(entries, list | tuple):
            raise InvalidInput("entries must be a list")
        valid = [validate(LogEntry, entry, f"entries[{i}]") for i, entry in enumerate(entries)]
        if not valid:
            return 0
        with _storage_errors():
            self._ensure_index()
            result = self._collection.insert_many([_new_document(entry) for entry in valid])
        return len(result.inserted_ids)

    def all(self, limit: Any = DEFAULT_LIMIT) -> list[LogRecord]:
        """The newest entries first; `limit` is clamped to 1..MAX_LIMIT.

        SecantusDB (the local MongoDB stand-in) answers `find().sort().limit()` by sorting the
        whole collection, seconds at 200,000 entries; a range on `created_at` does use the index.
        So look back from now over a window that doubles from one second until it holds `limit`
        entries, then read that window. MongoDB itself would use the index either way.
        """
        limit = _clamp_limit(limit)
        with _storage_errors():
            window = self._window_holding(limit, _now())
            cursor = self._collection.find(window).sort(NEWEST_FIRST).limit(limit)
            return [_record(document) for document in cursor]

    def _window_holding(self, limit: int, now: datetime) -> dict[str, Any]:
        span = timedelta(seconds=1)
        while span < LOOKBACK_LIMIT:
            window = {"created_at": {"$gte": now - span}}
            if len(list(self._collection.find(window, {"_id": 1}).limit(limit))) >= limit:
                return window
            span *= 2
        return {}

    def get(self, entry_id: Any) -> LogRecord:
        with _storage_errors():
            document = self._collection.find_one({"_id": _object_id(entry_id)})
        if document is None:
            raise NotFound("log entry not found")
        return _record(document)

    def update(self, entry_id: Any, name: Any, data: Any) -> LogRecord:
        entry = validate(LogEntry, {"name": name, "data": data})
        changes = {"name": entry.name, "data": entry.data, "updated_at": _now()}
        with _storage_errors():
            document = self._collection.find_one_and_update(
                {"_id": _object_id(entry_id)},
                {"$set": changes},
                return_document=ReturnDocument.AFTER,
            )
        if document is None:
            raise NotFound("log entry not found")
        return _record(document)

    def drop(self) -> None:
        """Delete every entry (the collection and its index go; the next write recreates both)."""
        with _storage_errors():
            self._collection.drop()
        self._indexed = False

    def _ensure_index(self) -> None:
        # Lazily, on the first write: MongoDB may be down when the process starts, and `drop()`
        # removes the index with the collection. create_index is idempotent on the server.
        if not self._indexed:
            self._collection.create_index(NEWEST_FIRST, name="created_at_newest_first")
            self._indexed = True


def _now() -> datetime:
    # MongoDB keeps milliseconds: truncate now, so what insert() returns equals what get() reads.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _new_document(entry: LogEntry) -> dict[str, Any]:
    now = _now()
    return {"name": entry.name, "data": entry.data, "created_at": now, "updated_at": now}


def _record(document: Mapping[str, Any]) -> LogRecord:
    return LogRecord(
        id=str(document["_id"]),
        name=document["name"],
        data=document["data"],
        created_at=document["created_at"].isoformat(timespec="milliseconds"),
        updated_at=document["updated_at"].isoformat(timespec="milliseconds"),
    )


def _object_id(entry_id: Any) -> ObjectId:
    """An id that cannot name an entry is simply not found: callers need not know its format."""
    try:
        if isinstance(entry_id, str):
            return ObjectId(entry_id)
    except InvalidId:
        pass
    raise NotFound("log entry not found")


def _clamp_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise InvalidInput("limit must be an integer")
    return max(1, min(limit, MAX_LIMIT))


@contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except PyMongoError as exc:
        if isinstance(exc, ConnectionFailure) or exc.timeout:
            log.warning("log storage unavailable: %s", exc)
            raise DownstreamUnavailable("log storage is unavailable") from None
        log.error("log storage failed: %s", exc)
        raise DownstreamError("log storage failed") from None
