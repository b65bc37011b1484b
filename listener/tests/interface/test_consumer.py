"""The delivery entrypoint against real RabbitMQ: raw bytes in, ack on return, requeue on error."""

import pytest
from kombu import Exchange, Queue
from nameko.testing.services import entrypoint_waiter

from listener.consumer import Delivery, consume_deliveries

from .helpers import publish_log, queue_depth

EXCHANGE = Exchange("logs_topic", type="topic", durable=True)
QUEUE = Queue("consumer.test", exchange=EXCHANGE, routing_key="log.*", durable=True)


class Recorder:
    """A test service whose handler fails for bodies starting with b"fail" until told not to."""

    name = "consumer_test"
    seen: list[Delivery]
    failures_left: int

    @consume_deliveries(QUEUE, requeue_delay=0)
    def handle(self, delivery: Delivery) -> None:
        Recorder.seen.append(delivery)
        if delivery.body.startswith(b"fail") and Recorder.failures_left > 0:
            Recorder.failures_left -= 1
            raise RuntimeError("handler failed")


@pytest.fixture
def recorder(container_factory, rabbit_config):
    Recorder.seen = []
    Recorder.failures_left = 0
    container = container_factory(Recorder, rabbit_config)
    container.start()
    return container


def test_the_worker_gets_the_raw_bytes_even_when_they_are_not_json(recorder, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    with entrypoint_waiter(recorder, "handle"):
        message_id = publish_log(uri, b"\xffnot json at all", level="ERROR", headers={"k": "v"})
    (delivery,) = Recorder.seen
    assert delivery.body == b"\xffnot json at all"
    assert delivery.routing_key == "log.ERROR"
    assert delivery.message_id == message_id
    assert delivery.headers == {"k": "v"}
    assert delivery.content_type == "application/json"
    # The consumer survived the undecodable body: the next message is handled too.
    with entrypoint_waiter(recorder, "handle"):
        publish_log(uri, {"name": "a", "data": "b"})
    assert Recorder.seen[1].body == b'{"name": "a", "data": "b"}'
    assert queue_depth(uri, QUEUE) == 0


def test_a_failing_worker_gets_its_message_requeued_until_it_succeeds(recorder, rabbit_config):
    Recorder.failures_left = 2
    uri = rabbit_config["AMQP_URI"]
    with entrypoint_waiter(recorder, "handle", callback=lambda ctx, result, exc: exc is None):
        publish_log(uri, b"fail twice")
    assert [delivery.body for delivery in Recorder.seen] == [b"fail twice"] * 3
    assert queue_depth(uri, QUEUE) == 0
