"""The batching entrypoint against real RabbitMQ: raw bytes in, batches of at most BATCH_MAX_SIZE,
each message acked once its batch is handled, the whole batch requeued when its worker raises."""

import eventlet
import pytest
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_waiter

from listener.consumer import consume_batches
from listener.deliveries import Delivery
from testing.waiting import wait_until

from .helpers import publish_log, publish_logs, queue_depth

EXCHANGE = Exchange("logs_topic", type="topic", durable=True)
QUEUE = Queue("consumer.test", exchange=EXCHANGE, routing_key="log.*", durable=True)


class Recorder:
    """A test service that records each batch. It fails a batch holding a body that starts with
    b"fail" until told not to, and holds a batch with a body starting with b"slow" for 2.5 s."""

    name = "consumer_test"
    batches: list[list[Delivery]]
    failures_left: int

    @consume_batches(QUEUE, requeue_delay=0)
    def handle(self, deliveries: list[Delivery]) -> None:
        Recorder.batches.append(deliveries)
        if any(body.startswith(b"slow") for body in bodies(deliveries)):
            eventlet.sleep(2.5)  # longer than a stopped consumer takes to close its channel (2 s)
        failing = any(body.startswith(b"fail") for body in bodies(deliveries))
        if failing and Recorder.failures_left > 0:
            Recorder.failures_left -= 1
            raise RuntimeError("handler failed")


def bodies(batch: list[Delivery]) -> list[bytes]:
    return [delivery.body for delivery in batch]


@pytest.fixture
def start_recorder(container_factory, rabbit_config):
    Recorder.batches = []
    Recorder.failures_left = 0

    def start(max_size: int = 100, linger: float = 0.01):
        config = {**rabbit_config, "BATCH_MAX_SIZE": max_size, "BATCH_LINGER": linger}
        container = container_factory(Recorder, config)
        container.start()
        return container

    return start


@pytest.fixture
def uri(rabbit_config):
    return rabbit_config["AMQP_URI"]


@pytest.fixture
def backlog(uri):
    """Publish to the test queue before anything consumes it."""
    with Connection(uri) as connection:  # declared and bound, as the consumer will
        QUEUE(connection.channel()).declare()

    def publish(*messages: bytes) -> None:
        publish_logs(uri, messages)

    return publish


def test_the_worker_gets_the_raw_bytes_even_when_they_are_not_json(start_recorder, uri):
    recorder = start_recorder()
    with entrypoint_waiter(recorder, "handle"):
        message_id = publish_log(uri, b"\xffnot json at all", level="ERROR", headers={"k": "v"})
    ((delivery,),) = Recorder.batches
    assert delivery.body == b"\xffnot json at all"
    assert delivery.routing_key == "log.ERROR"
    assert delivery.message_id == message_id
    assert delivery.headers == {"k": "v"}
    assert delivery.content_type == "application/json"
    # The consumer survived the undecodable body: the next message is handled too.
    with entrypoint_waiter(recorder, "handle"):
        publish_log(uri, {"name": "a", "data": "b"})
    assert bodies(Recorder.batches[1]) == [b'{"name": "a", "data": "b"}']
    assert queue_depth(uri, QUEUE) == 0


def test_a_backlog_goes_to_workers_in_full_batches_and_stop_hands_over_the_rest(
    start_recorder, backlog, uri
):
    backlog(*(f"event {number}".encode() for number in range(7)))
    recorder = start_recorder(max_size=3, linger=30)
    wait_until(lambda: len(Recorder.batches) == 2, what="two full batches")
    assert [len(batch) for batch in Recorder.batches] == [3, 3]

    recorder.stop()  # the seventh message was still lingering for company
    assert [len(batch) for batch in Recorder.batches] == [3, 3, 1]
    handled = [body for batch in Recorder.batches for body in bodies(batch)]
    assert sorted(handled) == sorted(f"event {number}".encode() for number in range(7))
    assert queue_depth(uri, QUEUE) == 0  # every one acked before the channel closed


def test_a_batch_whose_worker_raised_is_requeued_whole_until_it_succeeds(
    start_recorder, backlog, uri
):
    Recorder.failures_left = 2
    backlog(b"fail twice", b"fine")
    recorder = start_recorder(linger=0.5)
    with entrypoint_waiter(recorder, "handle", callback=lambda ctx, result, exc: exc is None):
        pass
    assert [sorted(bodies(batch)) for batch in Recorder.batches] == [[b"fail twice", b"fine"]] * 3
    assert queue_depth(uri, QUEUE) == 0


def test_stop_waits_for_the_batch_in_flight_to_be_acked(start_recorder, uri):
    recorder = start_recorder()
    publish_log(uri, b"slow")
    wait_until(lambda: Recorder.batches, what="the worker to start")
    recorder.stop()
    assert bodies(Recorder.batches[0]) == [b"slow"]
    assert queue_depth(uri, QUEUE) == 0


def test_a_killed_consumer_gives_back_what_it_had_not_handled(start_recorder, backlog, uri):
    backlog(b"first", b"second")
    recorder = start_recorder(linger=30)
    wait_until(lambda: queue_depth(uri, QUEUE) == 0, what="the messages to be delivered")
    recorder.kill()
    assert Recorder.batches == []
    wait_until(lambda: queue_depth(uri, QUEUE) == 2, what="the messages back in the queue")
