"""The batching entrypoint with a mocked container: which messages go to which worker, and what is
acked or requeued when (against real RabbitMQ: tests/interface/test_consumer.py)."""

from functools import partial
from typing import Any
from unittest.mock import Mock

import eventlet
import pytest
from nameko.exceptions import ContainerBeingKilled

from common.config import service_config
from listener.consumer import BatchConsumer, BatchLimits, BatchQueueConsumer
from testing.waiting import wait_until


def kombu_like_message(number: int) -> Mock:
    """A message whose channel is open, so the entrypoint acks and requeues it for real."""
    message = Mock(name=f"message {number}")
    message.body = f"body {number}".encode()
    message.delivery_info = {"routing_key": "log.INFO"}
    message.headers = {}
    message.properties = {"message_id": f"m-{number}"}
    message.content_type = message.content_encoding = None
    return message


# Lets the entrypoint's threads run until a condition holds; mocks answer at once, so poll often.
wait_for = partial(wait_until, timeout=5, interval=0.001)


@pytest.fixture
def container(mock_container):
    mock_container.shared_extensions = {}
    mock_container.max_workers = 4
    mock_container.spawn_managed_thread.side_effect = lambda fn, identifier=None: eventlet.spawn(fn)
    return mock_container


@pytest.fixture
def make_entrypoint(container):
    """Bound to the container and set up, not started; `start()` starts collecting batches."""
    made = []

    def make(max_size: int = 3, linger: float = 30) -> BatchConsumer:
        container.config.update({"BATCH_MAX_SIZE": max_size, "BATCH_LINGER": linger})
        made.append(BatchConsumer("queue", requeue_delay=0).bind(container, "handle"))
        made[-1].setup()
        return made[-1]

    yield make
    for entrypoint in made:
        if entrypoint._collector is not None:
            entrypoint._collector.kill()


@pytest.fixture
def entrypoint(make_entrypoint):
    """At most 3 messages per batch, lingering for 30 s: only full batches go to workers."""
    return make_entrypoint()


def arrive(entrypoint: BatchConsumer, numbers: range) -> list[Mock]:
    messages = [kombu_like_message(number) for number in numbers]
    for message in messages:
        entrypoint.handle_message(message.body, message)
    return messages


def batches(container) -> list[list[bytes]]:
    """The bodies given to each worker spawned so far."""
    return [
        [delivery.body for delivery in call.args[1][0]]
        for call in container.spawn_worker.call_args_list
    ]


def finish(container, batch: int, exc_info: Any = None) -> None:
    """The worker of the `batch`-th batch returns (or raises, with `exc_info`)."""
    handle_result = container.spawn_worker.call_args_list[batch].kwargs["handle_result"]
    handle_result(Mock(), None, exc_info)


def test_a_full_batch_goes_to_one_worker_at_once_and_the_rest_waits_for_more(entrypoint, container):
    entrypoint.start()
    arrive(entrypoint, range(4))
    wait_for(lambda: container.spawn_worker.called, "a worker")
    eventlet.sleep(0.05)  # the fourth message lingers: BATCH_LINGER is 30 s
    assert batches(container) == [[b"body 0", b"body 1", b"body 2"]]


def test_a_batch_that_does_not_fill_up_goes_to_a_worker_after_the_linger(
    make_entrypoint, container
):
    entrypoint = make_entrypoint(max_size=100, linger=0.01)
    entrypoint.start()
    arrive(entrypoint, range(2))
    wait_for(lambda: container.spawn_worker.called, "a worker")
    assert batches(container) == [[b"body 0", b"body 1"]]


def test_each_message_is_acked_once_its_worker_returned(entrypoint, container):
    entrypoint.start()
    messages = arrive(entrypoint, range(6))
    wait_for(lambda: len(batches(container)) == 2, "two workers")
    finish(container, 1)  # batches finish in any order
    assert [message.ack.call_count for message in messages] == [0, 0, 0, 1, 1, 1]
    finish(container, 0)
    assert all(message.ack.call_count == 1 for message in messages)
    assert not any(message.requeue.called for message in messages)


def test_every_message_of_a_batch_whose_worker_raised_is_requeued(entrypoint, container):
    entrypoint.start()
    messages = arrive(entrypoint, range(3))
    wait_for(lambda: container.spawn_worker.called, "a worker")
    finish(container, 0, exc_info=(RuntimeError, RuntimeError("boom"), None))
    assert all(message.requeue.call_count == 1 for message in messages)
    assert not any(message.ack.called for message in messages)


def test_a_batch_refused_by_a_container_being_killed_is_requeued(entrypoint, container):
    container.spawn_worker.side_effect = ContainerBeingKilled()
    entrypoint.start()
    messages = arrive(entrypoint, range(3))
    wait_for(lambda: all(message.requeue.called for message in messages), "the requeues")
    assert not any(message.ack.called for message in messages)


def test_stop_hands_over_what_arrived_and_returns_once_every_batch_is_acked(entrypoint, container):
    entrypoint.start()
    messages = arrive(entrypoint, range(4))
    wait_for(lambda: container.spawn_worker.called, "the first worker")
    stopping = eventlet.spawn(entrypoint.stop)
    wait_for(lambda: len(batches(container)) == 2, "the lingering message's worker")
    assert batches(container)[1] == [b"body 3"]
    arrive(entrypoint, range(4, 5))  # too late: left to go back to the queue
    finish(container, 0)
    eventlet.sleep(0.05)
    assert not stopping.dead  # the last batch is not acked yet
    finish(container, 1)
    stopping.wait()
    assert all(message.ack.call_count == 1 for message in messages)
    assert len(batches(container)) == 2


def test_kill_requeues_what_no_worker_has_taken(entrypoint, container):
    messages = arrive(entrypoint, range(2))  # never collected: the entrypoint is not started
    entrypoint.kill()
    assert all(message.requeue.call_count == 1 for message in messages)


def test_kill_gives_back_the_batch_being_filled_at_once_and_takes_no_more(entrypoint, container):
    entrypoint.start()
    messages = arrive(entrypoint, range(4))
    wait_for(lambda: container.spawn_worker.called, "the first worker")
    container.spawn_worker.side_effect = ContainerBeingKilled()  # as it is once killing began
    entrypoint.kill()
    (late,) = arrive(entrypoint, range(4, 5))
    wait_for(lambda: entrypoint._collector.dead, "the collector to finish")
    assert messages[3].requeue.call_count == 1  # it was lingering, for 30 s
    assert not any(message.requeue.called for message in messages[:3])  # their worker runs on
    assert container.spawn_worker.call_count == 2
    assert not late.requeue.called  # not taken: it goes back when the channel closes


def test_the_prefetch_leaves_room_for_max_workers_full_batches(container):
    container.config.update({"BATCH_MAX_SIZE": 128, "BATCH_LINGER": 0.05})
    assert BatchQueueConsumer().bind(container).prefetch_count == 4 * 128


def test_batch_limits_come_from_the_config_with_defaults():
    assert BatchLimits.from_config({"BATCH_MAX_SIZE": 7, "BATCH_LINGER": 0.2}) == BatchLimits(
        max_size=7, linger=0.2
    )
    defaults = BatchLimits.from_config(service_config("listener"))  # config.yaml's
    assert defaults == BatchLimits(max_size=128, linger=0.05)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"BATCH_MAX_SIZE": 0}, "BATCH_MAX_SIZE must be at least 1"),
        ({"BATCH_LINGER": -1}, "BATCH_LINGER must not be negative"),
    ],
)
def test_invalid_batch_limits_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        BatchLimits.from_config({**service_config("listener"), **config})
