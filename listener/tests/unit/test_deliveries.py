"""Reading message bodies and the listener's bookkeeping headers."""

from types import SimpleNamespace

import pytest

from listener.deliveries import (
    ATTEMPTS_HEADER,
    DEAD_LETTERED_AT_HEADER,
    REASON_HEADER,
    ROUTING_KEY_HEADER,
    Delivery,
    failed_attempts,
    original_routing_key,
    publisher_headers,
    raw_body,
)


@pytest.mark.parametrize(
    ("body", "content_encoding", "raw"),
    [
        (
            b"\xff\xfe bytes py-amqp could not decode",
            "utf-8",
            b"\xff\xfe bytes py-amqp could not decode",
        ),
        ('{"data": "caf\u00e9"}', "utf-8", '{"data": "caf\u00e9"}'.encode()),
        ("caf\u00e9", "latin-1", b"caf\xe9"),
        ("no encoding given", None, b"no encoding given"),
    ],
)
def test_raw_body_gives_the_bytes_as_published(body, content_encoding, raw):
    message = SimpleNamespace(body=body, content_encoding=content_encoding)
    assert raw_body(message) == raw


@pytest.mark.parametrize(
    ("headers", "attempts"),
    [({}, 0), ({ATTEMPTS_HEADER: 3}, 3), ({ATTEMPTS_HEADER: "3"}, 0), ({ATTEMPTS_HEADER: -1}, 0)],
)
def test_failed_attempts_come_from_the_header(headers, attempts):
    assert failed_attempts(headers) == attempts


@pytest.mark.parametrize(
    ("headers", "routing_key", "original"),
    [
        ({}, "log.ERROR", "log.ERROR"),
        ({ROUTING_KEY_HEADER: "log.WARNING"}, "listener.logs", "log.WARNING"),
    ],
)
def test_the_original_routing_key_survives_a_trip_through_the_retry_queue(
    headers, routing_key, original
):
    assert original_routing_key(headers, routing_key) == original


def test_publisher_headers_drop_the_listeners_and_rabbitmqs_bookkeeping():
    headers = {
        "trace": "abc",
        "nameko.call_id_stack": ["broker.1"],
        ATTEMPTS_HEADER: 2,
        REASON_HEADER: "down",
        ROUTING_KEY_HEADER: "log.INFO",
        DEAD_LETTERED_AT_HEADER: "2024-01-01T00:00:00+00:00",
        "x-death": [{"count": 1}],
        "x-first-death-queue": "listener.logs.retry",
        "x-last-death-reason": "expired",
    }
    assert publisher_headers(headers) == {"trace": "abc", "nameko.call_id_stack": ["broker.1"]}


def test_a_delivery_carries_the_raw_body_and_its_metadata():
    message = SimpleNamespace(
        body=b"\x00raw",
        delivery_info={"routing_key": "log.ERROR"},
        headers={"trace": "t"},
        properties={"message_id": "m-7"},
        content_type="application/json",
        content_encoding="utf-8",
    )
    assert Delivery.from_message(message) == Delivery(
        body=b"\x00raw",
        routing_key="log.ERROR",
        headers={"trace": "t"},
        message_id="m-7",
        content_type="application/json",
        content_encoding="utf-8",
    )


def test_a_delivery_of_a_message_without_headers_has_empty_headers():
    message = SimpleNamespace(
        body=b"{}",
        delivery_info={"routing_key": "log.INFO"},
        headers=None,
        properties={},
        content_type=None,
        content_encoding=None,
    )
    delivery = Delivery.from_message(message)
    assert (delivery.headers, delivery.message_id) == ({}, None)
