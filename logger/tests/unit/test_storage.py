"""LogStore against the real MongoDB-protocol server, on a fresh database per test."""

from datetime import UTC, datetime, timedelta

import pymongo
import pytest
from bson import ObjectId

from common.errors import DownstreamUnavailable, InvalidInput, NotFound
from common.validation import MAX_LOG_DATA_BYTES
from logger.log_readers import INDEXES
from logger.storage import MAX_LIMIT, LogStore, mongo_client
from testing.ports import free_port


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), "timestamps are UTC with an explicit offset"
    return parsed


def test_insert_returns_the_entry_as_stored(store, database):
    before = datetime.now().astimezone()
    entry = store.insert("event", "something happened")

    document = database.logs.find_one({"_id": entry["id"]})
    assert document["name"] == "event"
    assert document["data"] == "something happened"
    assert entry == store.get(entry["id"])
    assert set(entry) == {"id", "name", "data", "level", "request_id", "created_at", "updated_at"}
    assert entry["created_at"] == entry["updated_at"]
    assert abs(parse_time(entry["created_at"]) - before) < timedelta(minutes=1)


def test_insert_creates_the_indexes_listings_read(store, database):
    store.insert("event", "data")

    keys = [index["key"] for index in database.logs.index_information().values()]
    assert [("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)] in keys
    assert all(list(index) in keys for index in INDEXES.values())


def test_all_returns_newest_first_within_the_limit(store):
    names = [f"entry-{number}" for number in range(5)]
    for name in names:
        store.insert(name, "data")

    assert [entry["name"] for entry in store.all(3)] == ["entry-4", "entry-3", "entry-2"]
    assert [entry["name"] for entry in store.all()] == names[::-1]


@pytest.mark.parametrize(("limit", "returned"), [(0, 1), (-5, 1), (2, 2), (MAX_LIMIT + 1, 3)])
def test_all_clamps_the_limit(store, limit, returned):
    for number in range(3):
        store.insert(f"entry-{number}", "data")

    assert len(store.all(limit)) == returned


@pytest.mark.parametrize("limit", ["10", 2.5, None, True])
def test_all_refuses_a_limit_that_is_not_an_integer(store, limit):
    with pytest.raises(InvalidInput, match="limit must be an integer"):
        store.all(limit)


def test_all_finds_the_newest_entries_however_old_they_are(store, database):
    # all() looks back in widening windows: entries from long ago must still be found, in order.
    now = datetime.now(UTC)
    ages = [timedelta(days=400), timedelta(days=2), timedelta(hours=3), timedelta(seconds=0)]
    database["logs"].insert_many(
        {"name": f"aged {age}", "data": "d", "created_at": now - age, "updated_at": now - age}
        for age in ages
    )
    assert [entry["name"] for entry in store.all(3)] == [
        f"aged {age}" for age in (timedelta(0), timedelta(hours=3), timedelta(days=2))
    ]
    assert len(store.all(10)) == 4


def test_insert_many_stores_a_batch(store):
    entries = [{"name": f"batch-{number}", "data": "data"} for number in range(10)]

    assert store.insert_many(entries) == 10
    assert sorted(entry["name"] for entry in store.all()) == sorted(e["name"] for e in entries)
    assert store.insert_many([]) == 0


def test_an_event_id_is_stored_once_however_often_it_is_written(store, database):
    first = store.insert("event", "once", event_id="e-1", level="WARNING", request_id="r-1")
    again = store.insert("event", "once", event_id="e-1", level="WARNING", request_id="r-1")
    assert store.insert_many([{"name": "event", "data": "once", "id": "e-1"}]) == 1

    assert first["id"] == again["id"] == "e-1"
    (document,) = list(database.logs.find())
    assert (document["_id"], document["level"], document["request_id"]) == ("e-1", "WARNING", "r-1")
    assert store.get("e-1") == first


def test_a_batch_stores_what_is_new_and_skips_what_is_stored(store, database):
    store.insert("event", "earlier", event_id="b")
    batch = [{"name": "event", "data": f"entry {key}", "id": key} for key in "abcbd"]

    assert store.insert_many(batch) == 5  # every entry of the batch is stored now
    assert sorted(d["_id"] for d in database.logs.find()) == ["a", "b", "c", "d"]
    assert database.logs.find_one({"_id": "b"})["data"] == "earlier"


def test_entries_without_an_event_id_get_one_each(store, database):
    store.insert_many([{"name": "event", "data": "same"}] * 3)
    ids = [document["_id"] for document in database.logs.find()]
    assert len(set(ids)) == 3 and all(isinstance(i, str) for i in ids)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"id": "has space"}, "entries[0].id must be 1 to 128 printable ASCII characters"),
        ({"id": "x" * 129}, "entries[0].id must be 1 to 128 printable ASCII characters"),
        ({"level": "DEBUG"}, "entries[0].level must be one of 'INFO', 'WARNING' or 'ERROR'"),
        ({"request_id": "a\nb"}, "entries[0].request_id must be 1 to 128 printable ASCII"),
    ],
)
def test_event_ids_levels_and_request_ids_are_validated(store, event, message):
    with pytest.raises(InvalidInput) as raised:
        store.insert_many([{"name": "a", "data": "b", **event}])
    assert raised.value.message.startswith(message)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"name": "a", "data": "b"}, "entries must be a list"),
        ([{"name": "a", "data": "b"}, {"name": "", "data": "b"}], "entries[1].name must not be"),
        ([{"name": "a"}], "entries[0].data is required"),
        (["text"], "entries[0] must be an object"),
        ([None], "entries[0] is required"),
    ],
)
def test_insert_many_stores_nothing_when_one_entry_is_invalid(store, entries, message):
    with pytest.raises(InvalidInput) as raised:
        store.insert_many(entries)

    assert raised.value.message.startswith(message)
    assert store.all() == []


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("", "data", "name must not be empty"),
        ("x" * 256, "data", "name must be at most 255 characters"),
        (None, "data", "name must be a string"),
        (42, "data", "name must be a string"),
        ("name", ["list"], "data must be a string"),
        ("name", "x" * (MAX_LOG_DATA_BYTES + 1), "data must be at most 64 KiB"),
    ],
)
def test_every_write_validates(store, name, data, message):
    existing = store.insert("existing", "data")

    for write in (
        lambda: store.insert(name, data),
        lambda: store.update(existing["id"], name, data),
    ):
        with pytest.raises(InvalidInput, match=message):
            write()
    assert store.all() == [existing]


def test_limits_are_inclusive(store):
    entry = store.insert("x" * 255, "é" * (MAX_LOG_DATA_BYTES // 2))

    assert len(store.get(entry["id"])["data"]) == MAX_LOG_DATA_BYTES // 2


def test_update_changes_name_data_and_updated_at(store):
    entry = store.insert("before", "old")

    updated = store.update(entry["id"], "after", "new")

    assert updated == store.get(entry["id"])
    assert (updated["name"], updated["data"]) == ("after", "new")
    assert updated["created_at"] == entry["created_at"]
    assert parse_time(updated["updated_at"]) >= parse_time(entry["updated_at"])


@pytest.mark.parametrize("entry_id", [str(ObjectId()), "not-an-id", "", None, 7])
def test_unknown_or_invalid_ids_are_not_found(store, entry_id):
    with pytest.raises(NotFound, match="log entry not found"):
        store.get(entry_id)
    with pytest.raises(NotFound, match="log entry not found"):
        store.update(entry_id, "name", "data")


def test_drop_deletes_everything_and_the_next_write_restores_the_index(store, database):
    store.insert("first", "data")

    store.drop()
    assert store.all() == []

    store.insert("second", "data")
    assert [entry["name"] for entry in store.all()] == ["second"]
    assert len(database.logs.index_information()) == 1 + len(INDEXES)


@pytest.mark.parametrize("sorts_all_matches", [False, True])
def test_an_unreachable_server_fails_as_unavailable(sorts_all_matches):
    client = mongo_client(f"mongodb://127.0.0.1:{free_port()}", timeout_ms=200)
    store = LogStore(client["logs"], sorts_all_matches=sorts_all_matches)
    try:
        for operation in (
            lambda: store.insert("name", "data"),
            lambda: store.insert_many([{"name": "name", "data": "data"}]),
            lambda: store.all(),
            lambda: store.page(level="ERROR", q="timeout"),
            lambda: store.get(str(ObjectId())),
            lambda: store.drop(),
        ):
            with pytest.raises(DownstreamUnavailable, match="log storage is unavailable"):
                operation()
    finally:
        client.close()
