"""The publisher's pipelined connection (`broker.log_publisher._Pipeline`) with RabbitMQ played by
a fake: confirms by delivery tag, `multiple` acks, returns, nacks, a lost connection and a late
confirm (the real RabbitMQ: tests/interface/test_log_publisher.py)."""

from __future__ import annotations

from collections import defaultdict
from time import monotonic
from typing import Any

import amqp
import eventlet
from amqp.exceptions import ChannelError, MessageNacked
from eventlet.queue import LightQueue

from broker.log_publisher import PublishDeadline, _Pipeline


class FakeChannel:
    def __init__(self) -> None:
        self.events: dict[str, set[Any]] = defaultdict(set)
        self.published: list[tuple[str, str]] = []
        self.confirm_selected = False

    def confirm_select(self) -> None:
        self.confirm_selected = True

    def _basic_publish(self, message: amqp.Message, exchange: str, routing_key: str, **kw: Any):
        assert kw == {"mandatory": True}
        self.published.append((routing_key, message.properties["message_id"]))

    def fire(self, event: str, *args: Any) -> None:
        for callback in self.events[event]:
            callback(*args)


class FakeTransport:
    """The AMQP connection: `drain_events` runs what the test queued, in the reader."""

    def __init__(self) -> None:
        self.channel_ = FakeChannel()
        self.inbound: LightQueue = LightQueue()

    def channel(self) -> FakeChannel:
        return self.channel_

    def drain_events(self) -> None:
        action = self.inbound.get()
        action()


class FakeConnection:
    def __init__(self) -> None:
        self.connection = FakeTransport()
        self.collected = False

    def collect(self) -> None:
        self.collected = True


def message(message_id: str) -> amqp.Message:
    return amqp.Message("{}", message_id=message_id)


def start(pipeline: _Pipeline, *message_ids: str) -> list[Any]:
    """Publishes each id from its own green thread; returns their threads, in order."""
    threads = [
        eventlet.spawn(pipeline.publish, message(mid), "log.INFO", mid) for mid in message_ids
    ]
    eventlet.sleep(0)  # every writer has written and waits for its confirm
    return threads


def test_a_confirm_answers_its_own_publish_and_a_multiple_ack_every_one_before_it():
    connection = FakeConnection()
    pipeline = _Pipeline(connection, confirm_wait=5)
    channel = connection.connection.channel_
    assert channel.confirm_selected
    first, second, third = start(pipeline, "a", "b", "c")
    assert [mid for _, mid in channel.published] == ["a", "b", "c"]

    connection.connection.inbound.put(lambda: channel.fire("basic_ack", 2, False))
    assert second.wait() is None
    assert not first.dead and not third.dead
    connection.connection.inbound.put(lambda: channel.fire("basic_ack", 3, True))
    assert first.wait() is None and third.wait() is None
    assert pipeline.failure is None and not connection.collected


def test_a_returned_message_fails_its_own_publish_only():
    connection = FakeConnection()
    pipeline = _Pipeline(connection, confirm_wait=5)
    channel = connection.connection.channel_
    routed, unroutable = start(pipeline, "a", "b")
    no_route = ChannelError("NO_ROUTE")

    def return_then_ack() -> None:
        channel.fire("basic_return", no_route, "logs_topic", "log.INFO", message("b"))
        channel.fire("basic_ack", 2, True)

    connection.connection.inbound.put(return_then_ack)
    assert routed.wait() is None
    assert unroutable.wait() is no_route
    assert pipeline.failure is None


def test_a_nack_fails_the_publishes_in_flight_and_the_pipeline():
    connection = FakeConnection()
    pipeline = _Pipeline(connection, confirm_wait=5)
    channel = connection.connection.channel_
    threads = start(pipeline, "a", "b")
    connection.connection.inbound.put(lambda: channel.fire("basic_nack", 1, False))
    assert all(isinstance(thread.wait(), MessageNacked) for thread in threads)
    assert connection.collected
    # Later publishes are not written on it: their caller takes the retrying path.
    assert isinstance(pipeline.publish(message("c"), "log.INFO", "c"), MessageNacked)
    assert len(channel.published) == 2


def test_a_lost_connection_fails_every_publish_in_flight():
    connection = FakeConnection()
    pipeline = _Pipeline(connection, confirm_wait=5)
    threads = start(pipeline, "a", "b")

    def lose() -> None:
        raise ConnectionResetError("gone")

    connection.connection.inbound.put(lose)
    assert all(isinstance(thread.wait(), ConnectionResetError) for thread in threads)
    assert connection.collected


def test_a_confirm_later_than_the_wait_fails_the_pipeline_when_reaped():
    connection = FakeConnection()
    pipeline = _Pipeline(connection, confirm_wait=0.05)
    [thread] = start(pipeline, "a")
    pipeline.reap(monotonic())
    assert not thread.dead  # not yet late
    eventlet.sleep(0.06)
    pipeline.reap(monotonic())
    assert isinstance(thread.wait(), PublishDeadline)
    assert connection.collected
