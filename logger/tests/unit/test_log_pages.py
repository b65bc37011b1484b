"""Listing log entries: filters, keyset cursors both ways, and both ways of reading a page (the
plain indexed query for MongoDB, time windows for SecantusDB), against the real server."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pymongo
import pytest
from bson import ObjectId
from bson.codec_options import CodecOptions
from pymongo import monitoring

from common.errors import InvalidInput, NotFound
from logger.log_query import Cursor, Direction, PageRequest, Position, parse_query
from logger.log_readers import INDEXES, read_page
from logger.storage import LogStore
from logger.windowed_reader import WindowedReader
from testing.infrastructure import MONGO_URI

NOW = datetime.now(UTC).replace(microsecond=0)
NAMES = ("broker", "auth", "mailer")
LEVELS = ("INFO", "INFO", "WARNING", "INFO", "ERROR")


def entry(created_at, number, **fields):
    return {
        "_id": fields.pop("_id", f"{number:04d}-{uuid.uuid4().hex[:8]}"),
        "name": NAMES[number % len(NAMES)],
        "data": f"entry {number} {'Needle' if number % 7 == 0 else 'hay'}",
        "level": LEVELS[number % len(LEVELS)],
        "request_id": uuid.uuid4().hex,
        "created_at": created_at,
        "updated_at": created_at,
        **fields,
    }


@pytest.fixture
def entries(database):
    """90 entries over a year, densest in the last minutes, five sharing each millisecond of a
    burst (ids then decide their order), stored out of order."""
    ages = [timedelta(days=400 - day * 10) for day in range(20)]
    ages += [timedelta(seconds=second * 7) for second in range(40)]
    ages += [timedelta(milliseconds=1500 + (number // 5)) for number in range(30)]
    documents = [entry(NOW - age, number) for number, age in enumerate(ages)]
    database.logs.insert_many(documents[::2] + documents[1::2])
    return documents


def newest_first(documents):
    return sorted(documents, key=lambda d: (d["created_at"], d["_id"]), reverse=True)


def ids(page):
    return [record["id"] for record in page["entries"]]


def walk(store, direction="next", cursor=None, **filters):
    """Every page from the newest (or `cursor`) to the oldest (or back), following the cursors."""
    pages = [store.page(**filters, cursor=cursor)]
    while pages[-1][direction]:
        pages.append(store.page(**filters, cursor=pages[-1][direction]))
    return pages


def test_the_newest_page_comes_first(store, entries):
    page = store.page(limit=10)

    assert ids(page) == [d["_id"] for d in newest_first(entries)[:10]]
    assert page["prev"] is None
    assert page["next"] is not None


@pytest.mark.parametrize("limit", [1, 4, 10, 89, 90, 1000])
def test_pages_forward_hold_every_entry_once_in_order(store, entries, limit):
    pages = walk(store, limit=limit)

    assert [i for page in pages for i in ids(page)] == [d["_id"] for d in newest_first(entries)]
    assert all(len(page["entries"]) == limit for page in pages[:-1])
    assert pages[-1]["next"] is None


def test_pages_back_retrace_the_pages_forward(store, entries):
    forward = walk(store, limit=7)
    back = [store.page(cursor=forward[-1]["prev"], limit=7)]
    while back[-1]["prev"]:
        back.append(store.page(cursor=back[-1]["prev"], limit=7))

    assert [ids(page) for page in back] == [ids(page) for page in forward[-2::-1]]
    assert back[-1]["prev"] is None
    assert all(page["next"] for page in back)


def test_new_entries_do_not_shift_the_pages_being_read(store, database, entries):
    first = store.page(limit=10)
    database.logs.insert_many([entry(NOW + timedelta(seconds=1), 100 + n) for n in range(5)])

    second = store.page(cursor=first["next"], limit=10)
    back = store.page(cursor=second["prev"], limit=10)

    assert ids(second) == [d["_id"] for d in newest_first(entries)[10:20]]
    assert ids(back) == ids(first)
    assert len(walk(store, direction="prev", cursor=back["prev"], limit=10)[0]["entries"]) == 5


@pytest.mark.parametrize(
    "filters",
    [
        {"level": "ERROR"},
        {"level": "warning"},
        {"name": "mailer"},
        {"name": "mailer", "level": "INFO"},
        {"since": (NOW - timedelta(days=100)).isoformat()},
        {"until": (NOW - timedelta(seconds=100)).isoformat()},
        {"since": NOW - timedelta(seconds=140), "until": NOW - timedelta(seconds=70)},
        {"q": "needle"},
        {"q": "NEEDLE", "level": "INFO", "until": (NOW - timedelta(seconds=10)).isoformat()},
        {"name": "nobody"},
    ],
)
def test_filters_narrow_every_page(store, entries, filters):
    def wanted(d):
        since, until = (filters.get(k) for k in ("since", "until"))
        since = datetime.fromisoformat(since) if isinstance(since, str) else since
        until = datetime.fromisoformat(until) if isinstance(until, str) else until
        return (
            d["level"] == filters.get("level", d["level"]).upper()
            and d["name"] == filters.get("name", d["name"])
            and (since is None or d["created_at"] >= since)
            and (until is None or d["created_at"] < until)
            and filters.get("q", "").lower() in d["data"].lower()
        )

    pages = walk(store, limit=3, **filters)

    expected = [d["_id"] for d in newest_first(entries) if wanted(d)]
    assert [i for page in pages for i in ids(page)] == expected


def test_search_takes_its_text_literally(store, database):
    database.logs.insert_many(
        [entry(NOW, 1, data="cost: $5 (a+b)"), entry(NOW, 2, data="cost: 5 aab")]
    )

    assert [r["data"] for r in store.page(q="$5 (A+B)")["entries"]] == ["cost: $5 (a+b)"]


def test_records_are_what_was_stored(store, entries):
    record = store.page(limit=1)["entries"][0]
    newest = newest_first(entries)[0]

    assert record["id"] == newest["_id"]
    assert (record["name"], record["data"]) == (newest["name"], newest["data"])
    assert record["created_at"] == newest["created_at"].isoformat(timespec="milliseconds")


def test_entries_with_object_ids_page_and_are_found(store, database):
    # ObjectIds sort after strings: in a shared millisecond they come first, newest first.
    old = [entry(NOW - timedelta(minutes=n // 2), n, _id=ObjectId()) for n in range(4)]
    database.logs.insert_many([*old, entry(NOW, 9, _id="writer-id"), entry(NOW, 8, _id="a")])
    expected = [str(old[1]["_id"]), str(old[0]["_id"]), "writer-id", "a"]
    expected += [str(old[3]["_id"]), str(old[2]["_id"])]

    for limit in (1, 2, 4):
        forward = walk(store, limit=limit)
        assert [i for page in forward for i in ids(page)] == expected
        back = walk(store, direction="prev", cursor=forward[-1]["prev"], limit=limit)
        newer = expected[: -len(forward[-1]["entries"])]
        assert [i for page in back[::-1] for i in ids(page)] == newer
    assert store.get(str(old[1]["_id"]))["data"] == old[1]["data"]
    assert store.get("writer-id")["name"] == NAMES[0]


def test_an_empty_collection_has_one_empty_page(store):
    assert store.page() == {"entries": [], "next": None, "prev": None}


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"level": "DEBUG"}, "level must be one of INFO, WARNING, ERROR"),
        ({"level": 3}, "level must be one of"),
        ({"name": ""}, "name must be a string of 1 to 255 characters"),
        ({"name": "x" * 256}, "name must be a string of 1 to 255"),
        ({"q": "x" * 201}, "q must be a string of at most 200 characters"),
        ({"q": ["x"]}, "q must be a string"),
        ({"since": "yesterday"}, "since must be an ISO 8601 time"),
        ({"until": 1700000000}, "until must be an ISO 8601 time"),
        ({"since": "1969-12-31T23:59:59Z"}, "since must be after 1970"),
        ({"since": "2026-01-02", "until": "2026-01-01"}, "since must be before until"),
        ({"cursor": "not a cursor"}, "cursor is not valid"),
        ({"cursor": ""}, "cursor is not valid"),
        ({"cursor": 42}, "cursor is not valid"),
        ({"cursor": "eyJkIjoib2xkZXIifQ"}, "cursor is not valid"),  # {"d":"older"}
        ({"cursor": "eyJkIjoic2lkZXdheXMiLCJ0IjoxfQ"}, "cursor is not valid"),  # sideways
        ({"cursor": "eyJkIjoib2xkZXIiLCJ0IjotNX0"}, "cursor is not valid"),  # t: -5
        ({"cursor": "WzFd"}, "cursor is not valid"),  # [1]
        ({"limit": "10"}, "limit must be an integer"),
    ],
)
def test_bad_filters_and_cursors_are_refused(store, filters, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        store.page(**filters)


@pytest.mark.parametrize("entry_id", ["", None, 7, "missing", str(ObjectId())])
def test_an_id_that_names_no_entry_is_not_found(store, entries, entry_id):
    with pytest.raises(NotFound, match="log entry not found"):
        store.get(entry_id)


@pytest.mark.parametrize("entry_id", ["abc", ObjectId(), None])
@pytest.mark.parametrize("pace", [None, timedelta(seconds=90)])
def test_cursors_round_trip(entry_id, pace):
    cursor = Cursor(Position(NOW + timedelta(milliseconds=123), entry_id), Direction.NEWER, pace)

    assert Cursor.decode(cursor.encode()) == cursor


def test_the_first_write_creates_the_listing_indexes(store, database):
    store.insert("event", "data")

    keys = {name: list(index["key"]) for name, index in database.logs.index_information().items()}
    assert {name: keys.get(name) for name in INDEXES} == INDEXES


class FindFilters(monitoring.CommandListener):
    def __init__(self):
        self.filters = []

    def started(self, event):
        if event.command_name == "find":
            self.filters.append(event.command["filter"])

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def finds(mongo_database):
    """The filter of every find a fresh client sends, and that client's database."""
    listener = FindFilters()
    client = pymongo.MongoClient(MONGO_URI, event_listeners=[listener])
    yield listener, client[mongo_database]
    client.close()


def covered(documents, time_range):
    operators = {"$gte": "__ge__", "$gt": "__gt__", "$lte": "__le__", "$lt": "__lt__"}
    if not isinstance(time_range, dict):
        return [d for d in documents if d["created_at"] == time_range]
    return [
        d
        for d in documents
        if all(getattr(d["created_at"], operators[op])(bound) for op, bound in time_range.items())
    ]


def test_windows_fetch_about_a_page_not_the_collection(finds):
    listener, database = finds
    now = datetime.now(UTC)
    stored = [entry(now - timedelta(seconds=n), n) for n in range(300)]
    stored += [entry(now - timedelta(days=n), n) for n in range(1, 200)]
    database.logs.insert_many(stored)
    store = LogStore(database, sorts_all_matches=True)

    pages = [store.page(limit=10)]
    pages += [store.page(limit=10, cursor=pages[-1]["next"]) for _ in range(3)]

    assert [len(page["entries"]) for page in pages] == [10] * 4
    # Each find is a range of time (a cursor's millisecond: its ties, bounded by `_id` too).
    assert all(list(f) in (["created_at"], ["created_at", "_id"]) for f in listener.filters)
    fetched = sum(len(covered(stored, f["created_at"])) for f in listener.filters)
    assert fetched <= 4 * 11 * 2, listener.filters


def test_the_plain_query_is_one_find_with_keyset_bounds(finds, entries):
    listener, database = finds
    store = LogStore(database, sorts_all_matches=False)
    first = store.page(limit=5, level="INFO")
    listener.filters.clear()

    store.page(limit=5, level="INFO", cursor=first["next"])

    position, last = Cursor.decode(first["next"]).position, first["entries"][-1]
    assert position.id == last["id"]
    assert listener.filters == [
        {
            "level": "INFO",
            "created_at": {"$lte": position.created_at},
            "$or": [{"created_at": {"$lt": position.created_at}}, {"_id": {"$lt": last["id"]}}],
        }
    ]


def test_a_search_out_of_time_answers_where_it_stopped(database, entries):
    reader = WindowedReader(search_budget=0)  # one window a page
    codec = CodecOptions(tz_aware=True, tzinfo=UTC)
    collection = database.get_collection("logs", codec_options=codec)
    query = parse_query(text="needle")

    found, page = [], read_page(reader, collection, PageRequest(query, 5))
    for _ in range(200):
        found += [d["_id"] for d in page.documents]
        if page.next is None:
            break
        page = read_page(reader, collection, PageRequest(query, 5, Cursor.decode(page.next)))

    assert found == [d["_id"] for d in newest_first(entries) if "Needle" in d["data"]]
