"""Message bodies: what is a log entry, and the reason given for what is not."""

import json

import pytest

from common.errors import InvalidInput
from common.validation import LogEntry, LogEvent
from listener.deliveries import ROUTING_KEY_HEADER, Delivery
from listener.parsing import parse_batch, parse_log_entry, parse_log_event


def test_a_valid_body_gives_the_entry():
    body = json.dumps({"name": "event", "data": "something happened", "extra": 1}).encode()
    assert parse_log_entry(body) == LogEntry(name="event", data="something happened")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "malformed JSON body"),
        (b"", "malformed JSON body"),
        (b"\xff\xfe", "malformed JSON body"),
        (b'{"name": "a", "data": "b"} {}', "malformed JSON body"),
        (b'["name", "data"]', "body must be a JSON object"),
        (b'"text"', "body must be a JSON object"),
        (b"null", "body must be a JSON object"),
        (b'{"data": "b"}', "name is required"),
        (b'{"name": "a"}', "data is required"),
        (b'{"name": 1, "data": "b"}', "name must be a string"),
        (b'{"name": "a", "data": {"nested": true}}', "data must be a string"),
        (b'{"name": "", "data": "b"}', "name must not be empty"),
        (json.dumps({"name": "n" * 256, "data": "b"}).encode(), "at most 255 characters"),
        (json.dumps({"name": "a", "data": "d" * (64 * 1024 + 1)}).encode(), "at most 64 KiB"),
    ],
)
def test_a_body_that_is_not_a_log_entry_is_refused_with_the_reason(body, reason):
    with pytest.raises(InvalidInput, match=reason):
        parse_log_entry(body)


def test_a_batch_is_sorted_into_entries_to_store_and_bodies_with_their_reason():
    deliveries = [
        Delivery(body=body, routing_key="log.INFO", message_id=str(number))
        for number, body in enumerate(
            [b'{"name": "a", "data": "1"}', b"{not json", b'{"name": "b", "data": "2"}', b"[]"]
        )
    ]
    batch = parse_batch(deliveries)
    assert batch.valid == [
        (deliveries[0], LogEvent(name="a", data="1", id="0")),
        (deliveries[2], LogEvent(name="b", data="2", id="2")),
    ]
    assert batch.invalid == [
        (deliveries[1], "invalid log entry: malformed JSON body"),
        (deliveries[3], "invalid log entry: body must be a JSON object"),
    ]
    assert batch.entries() == [
        {"name": "a", "data": "1", "id": "0", "level": "INFO", "request_id": None},
        {"name": "b", "data": "2", "id": "2", "level": "INFO", "request_id": None},
    ]


def test_an_event_takes_its_id_level_and_request_id_from_the_message():
    delivery = Delivery(
        body=b'{"name": "a", "data": "1"}',
        routing_key="listener.logs.retry",  # a retried message: its first key is in a header
        headers={ROUTING_KEY_HEADER: "log.ERROR", "x-request-id": "req-7"},
        message_id="event-1",
    )
    assert parse_log_event(delivery) == LogEvent(
        name="a", data="1", id="event-1", level="ERROR", request_id="req-7"
    )


@pytest.mark.parametrize("message_id", [None, "", "has space", "x" * 129, "caf\u00e9"])
def test_a_message_without_a_usable_id_gets_a_fresh_one(message_id):
    delivery = Delivery(
        body=b'{"name": "a", "data": "1"}',
        routing_key="log.INFO",
        message_id=message_id,
        headers={"x-request-id": "bad\nid"},
    )
    event = parse_log_event(delivery)
    assert event.id != message_id and len(event.id) == 32
    assert event.request_id is None  # an unusable request id is dropped, not stored
