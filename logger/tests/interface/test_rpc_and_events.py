"""LoggerService over real RabbitMQ and MongoDB: its Nameko RPC methods and auth's event."""

import pytest
from bson import ObjectId
from nameko.exceptions import MethodNotFound
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter, replace_dependencies

from common.errors import DownstreamUnavailable, InvalidInput, NotFound
from logger.service import LoggerService


@pytest.fixture
def logger_rpc(logger_container, logger_config):
    with ServiceRpcProxy("logger", logger_config) as proxy:
        yield proxy


def test_write_log_is_stored_and_read_back(logger_rpc, logs):
    entry = logger_rpc.write_log("event", "payload")

    document = logs.find_one({"_id": entry["id"]})
    assert (document["name"], document["data"]) == ("event", "payload")
    assert document["created_at"] == document["updated_at"]
    assert logger_rpc.get(entry["id"]) == entry
    assert logger_rpc.all(10) == [entry]


def test_write_logs_stores_a_batch_and_all_reads_newest_first(logger_rpc, logs):
    batch = [{"name": f"batch-{number}", "data": "payload"} for number in range(20)]

    assert logger_rpc.write_logs(batch) == 20
    assert logs.count_documents({}) == 20
    newest = logger_rpc.all(5)
    assert len(newest) == 5
    assert [entry["created_at"] for entry in newest] == sorted(
        (entry["created_at"] for entry in newest), reverse=True
    )


@pytest.mark.parametrize(
    ("method", "args"), [("drop", ()), ("update", ("id", "n", "d"))], ids=["drop", "update"]
)
def test_no_rpc_wipes_or_rewrites_entries(logger_rpc, logs, method, args):
    entry = logger_rpc.write_log("before", "old")

    with pytest.raises(MethodNotFound):
        getattr(logger_rpc, method)(*args)

    assert logs.find_one({"_id": entry["id"]})["name"] == "before"


def test_page_lists_by_keyset_both_ways(logger_rpc, logs):
    logger_rpc.write_logs([{"name": "paged", "data": f"entry {number}"} for number in range(5)])
    logger_rpc.write_log("other", "entry 5")

    first = logger_rpc.page(name="paged", limit=2)
    second = logger_rpc.page(name="paged", cursor=first["next"], limit=2)
    back = logger_rpc.page(name="paged", cursor=second["prev"], limit=2)

    assert first["prev"] is None
    assert len(first["entries"]) == len(second["entries"]) == 2
    assert not {e["id"] for e in first["entries"]} & {e["id"] for e in second["entries"]}
    assert back["entries"] == first["entries"]
    assert logger_rpc.page(q="ENTRY 5")["entries"][0]["name"] == "other"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda rpc: rpc.write_log("", "payload"), InvalidInput, "name must not be empty"),
        (lambda rpc: rpc.write_log("event", 42), InvalidInput, "data must be a string"),
        (lambda rpc: rpc.write_logs([{"name": "event"}]), InvalidInput, r"entries\[0\].data"),
        (lambda rpc: rpc.all("ten"), InvalidInput, "limit must be an integer"),
        (lambda rpc: rpc.page(cursor="bm90IGEgY3Vyc29y"), InvalidInput, "cursor is not valid"),
        (lambda rpc: rpc.page(level="DEBUG"), InvalidInput, "level must be one of"),
        (lambda rpc: rpc.get(str(ObjectId())), NotFound, "log entry not found"),
        (lambda rpc: rpc.get("not-an-id"), NotFound, "log entry not found"),
    ],
    ids=[
        "empty-name",
        "data-number",
        "batch-missing-data",
        "limit-text",
        "page-bad-cursor",
        "page-bad-level",
        "unknown-id",
        "invalid-id",
    ],
)
def test_bad_input_reaches_the_caller_as_its_error_class(logger_rpc, logs, call, error, message):
    with pytest.raises(error, match=message):
        call(logger_rpc)
    assert logs.count_documents({}) == 0


def test_a_user_authenticated_event_from_auth_is_stored(logger_container, logger_config, logs):
    dispatch = event_dispatcher(logger_config)

    with entrypoint_waiter(logger_container, "on_user_authenticated"):
        dispatch("auth", "user_authenticated", {"email": "admin@example.com"})

    document = logs.find_one()
    assert (document["name"], document["data"]) == ("authentication", "admin@example.com logged in")


def test_an_event_that_met_a_storage_outage_is_retried(container_factory, logger_config):
    container = container_factory(LoggerService, logger_config)
    storage = replace_dependencies(container, "storage")
    storage.insert.side_effect = [DownstreamUnavailable("log storage is unavailable"), {}]
    container.start()

    def stored(worker_ctx, result, exc_info):
        return exc_info is None

    with entrypoint_waiter(container, "on_user_authenticated", callback=stored):
        event = {"email": "a@example.com", "event_id": "auth-event-1"}
        event_dispatcher(logger_config)("auth", "user_authenticated", event)

    assert storage.insert.call_count == 2  # the same event id both times: stored once
    storage.insert.assert_called_with(
        "authentication", "a@example.com logged in", event_id="auth-event-1", request_id=None
    )
