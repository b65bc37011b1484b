"""The RPC proxy with a deadline, against real RabbitMQ."""

import time

import eventlet
import pytest
from nameko.testing.services import dummy, entrypoint_hook
from nameko.testing.utils import get_extension

from common.errors import DownstreamUnavailable, InvalidInput, ServiceUnavailable
from common.rpc import rpc
from common.rpc_proxy import ExclusiveReplyListener, TimeoutRpcProxy


class Slow:
    name = "slow"

    @rpc
    def echo(self, value, delay=0.0):
        eventlet.sleep(delay)
        if value == "bad":
            raise InvalidInput("value is bad")
        return value


class Caller:
    name = "caller"

    slow = TimeoutRpcProxy("slow", timeout_key="SLOW_TIMEOUT")
    missing = TimeoutRpcProxy("missing", timeout_key="SLOW_TIMEOUT")

    @dummy
    def call(self, value, delay=0.0):
        return self.slow.echo(value, delay)

    @dummy
    def call_missing(self):
        return self.missing.anything()


@pytest.fixture
def slow(container_factory, rabbit_config):
    container = container_factory(Slow, rabbit_config)
    container.start()
    return container


@pytest.fixture
def caller(slow, container_factory, rabbit_config):
    container = container_factory(Caller, {**rabbit_config, "SLOW_TIMEOUT": 2.0})
    container.start()
    return container


def test_a_reply_in_time_is_returned(caller):
    with entrypoint_hook(caller, "call") as call:
        assert call("hello") == "hello"


def test_declared_errors_arrive_as_their_own_class(caller):
    with entrypoint_hook(caller, "call") as call, pytest.raises(InvalidInput, match="is bad"):
        call("bad")


def test_a_late_reply_is_a_timeout_and_is_forgotten(caller):
    started = time.monotonic()
    with (
        entrypoint_hook(caller, "call") as call,
        pytest.raises(DownstreamUnavailable, match=r"slow.echo did not answer within 2 s"),
    ):
        call("late", delay=5)
    assert 2.0 <= time.monotonic() - started < 4.0
    listener = get_extension(caller, TimeoutRpcProxy, target_service="slow").rpc_reply_listener
    assert listener._reply_events == {}


def test_a_service_that_does_not_exist_fails_at_once(caller):
    started = time.monotonic()
    with (
        entrypoint_hook(caller, "call_missing") as call,
        pytest.raises(ServiceUnavailable, match="missing service is not running"),
    ):
        call()
    assert time.monotonic() - started < 1.0  # well before the 2 s deadline


def test_a_stopped_service_fails_at_once_though_its_queue_remains(caller, slow):
    slow.stop()  # its durable queue stays, with no consumer
    started = time.monotonic()
    with (
        entrypoint_hook(caller, "call") as call,
        pytest.raises(ServiceUnavailable, match="slow service is not running"),
    ):
        call("anyone there?")
    assert time.monotonic() - started < 1.0


def test_nameko_still_keeps_pending_calls_where_forget_looks_for_them():
    # `ExclusiveReplyListener.forget` pops from Nameko's private `_reply_events`: this fails
    # loudly if a Nameko upgrade moves it.
    listener = ExclusiveReplyListener()
    event = listener.get_reply_event("call-1")
    assert listener._reply_events == {"call-1": event}
    listener.forget("call-1")
    assert listener._reply_events == {}
