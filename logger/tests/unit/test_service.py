"""LoggerService's entrypoints with the storage mocked: each calls the store and returns."""

import pytest
from nameko.testing.services import worker_factory

from common.call_context import CallIds
from common.errors import InvalidInput
from logger.service import LoggerService

RECORD = {"id": "1", "name": "n", "data": "d", "created_at": "t", "updated_at": "t"}
CALL = CallIds(request_id="req-1", idempotency_key="key-1")


@pytest.fixture
def service():
    service = worker_factory(LoggerService, call=CALL)
    service.storage.insert.return_value = RECORD
    return service


def test_write_log_stores_the_entry(service):
    assert service.write_log("n", "d", "e-1", "ERROR") == RECORD
    service.storage.insert.assert_called_once_with(
        "n", "d", event_id="e-1", level="ERROR", request_id="req-1"
    )


def test_write_logs_stores_the_batch_at_once(service):
    batch = [{"name": "a", "data": "1"}, {"name": "b", "data": "2"}]
    service.storage.insert_many.return_value = 2

    assert service.write_logs(batch) == 2
    service.storage.insert_many.assert_called_once_with(batch)


def test_reads_go_to_the_store(service):
    service.storage.all.return_value = [RECORD]
    service.storage.get.return_value = RECORD

    assert service.all() == [RECORD]
    service.storage.all.assert_called_once_with(50)
    assert service.all(5) == [RECORD]
    assert service.get("1") == RECORD
    service.storage.get.assert_called_once_with("1")


@pytest.mark.parametrize("method", ["update", "drop"])
def test_no_rpc_changes_or_wipes_stored_entries(method):
    # Issue 10: anyone on RabbitMQ could call them; nothing in the product did.
    assert not hasattr(LoggerService, method)


def test_page_passes_the_listing_to_the_store(service):
    page = {"entries": [RECORD], "next": "c", "prev": None}
    service.storage.page.return_value = page

    assert service.page(level="ERROR", q="x", cursor="c", limit=5) == page
    service.storage.page.assert_called_once_with(
        level="ERROR", name=None, since=None, until=None, q="x", cursor="c", limit=5
    )


def test_a_user_authenticated_event_is_stored_as_authentication(service):
    service.on_user_authenticated({"email": "admin@example.com", "event_id": "auth-1"})

    service.storage.insert.assert_called_once_with(
        "authentication", "admin@example.com logged in", event_id="auth-1", request_id="req-1"
    )


def test_log_info_stores_the_go_struct_and_answers_like_the_go_server(service):
    answer = service.log_info({"Name": "event", "Data": "payload"})

    assert answer == "Processed payload via RPC: event"
    service.grouped_writes.submit.assert_called_once_with(
        {
            "name": "event",
            "data": "payload",
            "id": "key-1",
            "level": "INFO",
            "request_id": "req-1",
        }
    )


def test_log_info_takes_the_level_the_broker_sends(service):
    service.log_info({"Name": "event", "Data": "payload", "Level": "WARNING"})
    assert service.grouped_writes.submit.call_args.args[0]["level"] == "WARNING"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"Data": "payload"}, "payload.Name is required"),
        ({"Name": "", "Data": "payload"}, "payload.Name must not be empty"),
        ({"Name": "event", "Data": 42}, "payload.Data must be a string"),
        ({"name": "event", "data": "payload"}, "payload.Name is required"),
        ("event", "payload must be an object"),
    ],
)
def test_log_info_refuses_a_bad_struct(service, payload, message):
    with pytest.raises(InvalidInput, match=message):
        service.log_info(payload)
    service.grouped_writes.submit.assert_not_called()


@pytest.mark.parametrize(
    ("event", "message"),
    [({}, "event.email is required"), ({"email": 7}, "event.email must be a string")],
)
def test_a_malformed_event_is_refused(service, event, message):
    with pytest.raises(InvalidInput, match=message):
        service.on_user_authenticated(event)
    service.storage.insert.assert_not_called()
