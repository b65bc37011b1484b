"""The parts of the delivery entrypoint that need no RabbitMQ (the rest: interface tests)."""

from types import SimpleNamespace

from listener.consumer import Delivery, DeliveryConsumer
from listener.messages import ATTEMPTS_HEADER


def kombu_like_message(headers):
    return SimpleNamespace(
        body=b"\x00raw",
        delivery_info={"routing_key": "log.ERROR"},
        headers=headers,
        properties={"message_id": "m-7"},
        content_type="application/json",
        content_encoding="utf-8",
    )


def test_a_delivery_carries_the_raw_body_and_its_metadata():
    message = kombu_like_message({"trace": "t"})
    assert Delivery.from_message(message) == Delivery(
        body=b"\x00raw",
        routing_key="log.ERROR",
        headers={"trace": "t"},
        message_id="m-7",
        content_type="application/json",
        content_encoding="utf-8",
    )


def test_only_nameko_headers_become_worker_context():
    headers = {
        "nameko.call_id_stack": ["broker.log.1"],
        "nameko.auth_token": "t",
        ATTEMPTS_HEADER: 2,
        "x-death": [{"count": 1}],
    }
    context = DeliveryConsumer("queue").unpack_message_headers(kombu_like_message(headers))
    assert context == {"call_id_stack": ["broker.log.1"], "auth_token": "t"}


def test_a_message_without_headers_gives_no_context():
    assert DeliveryConsumer("queue").unpack_message_headers(kombu_like_message(None)) == {}
