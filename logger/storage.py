"""Log entries in MongoDB: the one storage module every way into the logger writes through.

Plain pymongo, no Nameko, so the Nameko service (through `LogStorage`), the gRPC server process
and the tests use it alike. Every write validates with `common.validation.LogEntry`, so the rules
are the same whichever transport an entry came by. A MongoDB failure leaves this module as
`DownstreamUnavailable` (unreachable or too slow: worth retrying) or `DownstreamError`, never as a
pymongo exception with internals in its text. Listings (`page`, `all`) are read by
`logger.log_readers` or, on SecantusDB, `logger.windowed_reader`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypedDict

from bson import ObjectId
from bson.codec_options import CodecOptions
from pymongo import IndexModel, MongoClient, ReturnDocument
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, PyMongoError

from common.errors import DownstreamError, DownstreamUnavailable, InvalidInput, NotFound
from common.ids import new_id
from common.validation import LogEntry, LogEvent, validate
from logger.log_query import Cursor, PageRequest, parse_query
from logger.log_readers import INDEXES, IndexedReader, read_page
from logger.windowed_reader import WindowedReader

log = logging.getLogger(__name__)

COLLECTION = "logs"
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
DUPLICATE_KEY = 11000  # MongoDB's error code for a second document with the same `_id`


class LogRecord(TypedDict):
    """A stored entry as the logger hands it out (plain JSON types, so it crosses any transport)."""

    id: str
    name: str
    data: str
    level: str
    request_id: str | None
    created_at: str
    updated_at: str


class LogPage(TypedDict):
    """Entries newest first, with cursors to the older page (`next`) and the newer (`prev`);
    None where nothing lies that way. A text search that ran out of time answers a short page
    (even an empty one) whose `next` continues where it stopped."""

    entries: list[LogRecord]
    next: str | None
    prev: str | None


def mongo_client(uri: str, timeout_ms: int) -> MongoClient:
    """The process's one MongoClient (it pools connections); `timeout_ms` bounds finding a server
    and every operation."""
    return MongoClient(uri, timeoutMS=timeout_ms, appname="logger")


class LogStore:
    """The `logs` collection of one database, with the operations the logger offers."""

    def __init__(self, database: Database, *, sorts_all_matches: bool = False) -> None:
        """`sorts_all_matches`: the server sorts every match of a query before it applies the
        limit (SecantusDB), so pages are read through narrow time windows; with MongoDB (False)
        each page is one plain indexed query."""
        # Timezone-aware datetimes whatever the client's options, so timestamps carry "+00:00".
        codec_options = CodecOptions(tz_aware=True, tzinfo=UTC)
        self._collection = database.get_collection(COLLECTION, codec_options=codec_options)
        self._indexed = False
        self._reader = WindowedReader() if sorts_all_matches else IndexedReader()

    def insert(
        self,
        name: Any,
        data: Any,
        *,
        event_id: Any = None,
        level: Any = "INFO",
        request_id: Any = None,
    ) -> LogRecord:
        """Store one entry under `event_id` (a fresh id when None). Storing an id that is
        already stored stores nothing and succeeds: that is how a retry stays one entry."""
        event = {"name": name, "data": data, "id": event_id, "level": level}
        entry = validate(LogEvent, {**event, "request_id": request_id})
        document = _new_document(entry)
        with _storage_errors():
            self._ensure_index()
            try:
                self._collection.insert_one(document)
            except DuplicateKeyError:
                log.info("log event %s was already stored", document["_id"])
        return _record(document)

    def insert_many(self, entries: Sequence[Mapping[str, Any]]) -> int:
        """Store a batch in one round trip; all entries are validated before any is stored.

        Each entry is `{"name", "data"}` plus, optionally, its event `id`, `level` and
        `request_id`. Entries whose id is already stored are skipped, the others stored (the
        write is unordered): returns how many entries are now stored, i.e. all of them."""
        if not isinstance(entries, list | tuple):
            raise InvalidInput("entries must be a list")
        valid = [validate(LogEvent, entry, f"entries[{i}]") for i, entry in enumerate(entries)]
        if not valid:
            return 0
        with _storage_errors():
            self._ensure_index()
            documents = [_new_document(entry) for entry in valid]
            try:
                self._collection.insert_many(documents, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(error.get("code") != DUPLICATE_KEY for error in errors):
                    raise
                log.info("%d of %d log events were already stored", len(errors), len(documents))
        return len(documents)

    def all(self, limit: Any = DEFAULT_LIMIT) -> list[LogRecord]:
        """The newest entries first; `limit` is clamped to 1..MAX_LIMIT."""
        return self.page(limit=limit)["entries"]

    def page(
        self,
        *,
        level: Any = None,
        name: Any = None,
        since: Any = None,
        until: Any = None,
        q: Any = None,
        cursor: Any = None,
        limit: Any = DEFAULT_LIMIT,
    ) -> LogPage:
        """One page of the entries that match every filter given, newest first.

        `level` (INFO, WARNING, ERROR) and `name` are exact; `since` (inclusive) and `until`
        (exclusive) are ISO 8601 times; `q` finds entries whose data contains it, ignoring
        case. Without `cursor` the page is the newest; a page's `next` and `prev` cursors lead
        to the pages either side of it (keyset paging: entries arriving meanwhile shift
        nothing). `limit` is clamped to 1..MAX_LIMIT.
        """
        query = parse_query(level, name, since, until, q)
        start = Cursor.decode(cursor) if cursor is not None else None
        request = PageRequest(query, _clamp_limit(limit), start)
        with _storage_errors():
            page = read_page(self._reader, self._collection, request)
        return LogPage(
            entries=[_record(document) for document in page.documents],
            next=page.next,
            prev=page.prev,
        )

    def get(self, entry_id: Any) -> LogRecord:
        with _storage_errors():
            document = self._collection.find_one({"_id": {"$in": _entry_ids(entry_id)}})
        if document is None:
            raise NotFound("log entry not found")
        return _record(document)

    def update(self, entry_id: Any, name: Any, data: Any) -> LogRecord:
        entry = validate(LogEntry, {"name": name, "data": data})
        changes = {"name": entry.name, "data": entry.data, "updated_at": _now()}
        with _storage_errors():
            document = self._collection.find_one_and_update(
                {"_id": {"$in": _entry_ids(entry_id)}},
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
        # removes the indexes with the collection. create_indexes is idempotent on the server.
        if not self._indexed:
            self._collection.create_indexes(
                [IndexModel(keys, name=name) for name, keys in INDEXES.items()]
            )
            self._indexed = True


def _now() -> datetime:
    # MongoDB keeps milliseconds: truncate now, so what insert() returns equals what get() reads.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _new_document(entry: LogEvent) -> dict[str, Any]:
    now = _now()
    return {
        "_id": entry.id or new_id(),
        "name": entry.name,
        "data": entry.data,
        "level": entry.level,
        "request_id": entry.request_id,
        "created_at": now,
        "updated_at": now,
    }


def _record(document: Mapping[str, Any]) -> LogRecord:
    return LogRecord(
        id=str(document["_id"]),
        name=document["name"],
        data=document["data"],
        level=document.get("level", "INFO"),
        request_id=document.get("request_id"),
        created_at=document["created_at"].isoformat(timespec="milliseconds"),
        updated_at=document["updated_at"].isoformat(timespec="milliseconds"),
    )


def _entry_ids(entry_id: Any) -> list[Any]:
    """The ids `entry_id` may be stored under: the writer's string id, or the ObjectId MongoDB
    gave entries stored before ids came from the writer. Anything else names no entry."""
    if not isinstance(entry_id, str) or not entry_id:
        raise NotFound("log entry not found")
    return [entry_id, ObjectId(entry_id)] if ObjectId.is_valid(entry_id) else [entry_id]


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
