"""Retry decisions and what is republished where, with the publish function mocked."""

from unittest.mock import ANY, Mock

import pytest

from common.config import service_config
from common.errors import DownstreamUnavailable
from listener.deliveries import (
    ATTEMPTS_HEADER,
    DEAD_LETTERED_AT_HEADER,
    REASON_HEADER,
    ROUTING_KEY_HEADER,
    Delivery,
)
from listener.queues import DEAD_LETTER_QUEUE, RETRY_QUEUE
from listener.retries import Redeliverer, RetryPolicy, failure_reason

POLICY = RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_max=1.5)
BODY = b'{"name": "event", "data": "payload"}'


def first_delivery(**overrides) -> Delivery:
    fields = {
        "body": BODY,
        "routing_key": "log.WARNING",
        "headers": {"trace": "abc"},
        "message_id": "m-1",
        "content_type": "application/json",
        "content_encoding": "utf-8",
    }
    return Delivery(**{**fields, **overrides})


def retried_delivery(attempts: int) -> Delivery:
    """The same message back from the retry queue after `attempts` failures."""
    return first_delivery(
        routing_key="listener.logs",
        headers={
            "trace": "abc",
            ATTEMPTS_HEADER: attempts,
            REASON_HEADER: "earlier failure",
            ROUTING_KEY_HEADER: "log.WARNING",
            "x-death": [{"count": attempts, "queue": RETRY_QUEUE.name}],
            "x-first-death-queue": RETRY_QUEUE.name,
        },
    )


@pytest.mark.parametrize(
    ("failed", "delay"),
    [(1, 0.5), (2, 1.0), (3, 1.5), (4, None), (5, None)],
)
def test_backoff_doubles_up_to_the_cap_then_gives_up(failed, delay):
    assert POLICY.next_delay(failed) == delay


def test_the_policy_reads_the_config_and_has_defaults():
    assert RetryPolicy.from_config(
        {"RETRY_MAX_ATTEMPTS": 2, "RETRY_BACKOFF_BASE": 0.1, "RETRY_BACKOFF_MAX": 3}
    ) == RetryPolicy(max_attempts=2, backoff_base=0.1, backoff_max=3.0)
    defaults = RetryPolicy.from_config(service_config("listener"))  # config.yaml's
    assert defaults == RetryPolicy(max_attempts=10, backoff_base=1.0, backoff_max=30.0)


def test_the_default_policy_rides_out_a_two_minute_outage():
    policy = RetryPolicy.from_config(service_config("listener"))
    waits = [policy.next_delay(failed) for failed in range(1, policy.max_attempts)]
    assert sum(waits) >= 120
    assert policy.next_delay(policy.max_attempts) is None


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (DownstreamUnavailable("logger service is not running"), "logger service is not running"),
        (RuntimeError("boom\n  on two lines"), "RuntimeError: boom on two lines"),
        (ValueError("x" * 1000), "ValueError: " + "x" * 488),
    ],
)
def test_failure_reason(exc, reason):
    assert failure_reason(exc) == reason


@pytest.mark.parametrize(
    ("delivery", "reason", "queue", "bookkeeping", "expiration"),
    [
        pytest.param(
            first_delivery(),
            "logger service is not running",
            RETRY_QUEUE,
            {ATTEMPTS_HEADER: 1, REASON_HEADER: "logger service is not running"},
            0.5,
            id="a-first-failure-goes-to-the-retry-queue-with-the-first-delay",
        ),
        pytest.param(
            retried_delivery(attempts=2),
            "still down",
            RETRY_QUEUE,
            {ATTEMPTS_HEADER: 3, REASON_HEADER: "still down"},
            1.5,
            id="a-retried-message-keeps-its-routing-key-and-counts-up-without-rabbitmq-headers",
        ),
        pytest.param(
            retried_delivery(attempts=3),
            "still down",
            DEAD_LETTER_QUEUE,
            {
                ATTEMPTS_HEADER: 4,
                REASON_HEADER: "gave up after 4 attempts: still down",
                DEAD_LETTERED_AT_HEADER: ANY,
            },
            None,
            id="the-last-allowed-failure-dead-letters-the-message-with-the-reason",
        ),
    ],
)
def test_a_failure_republishes_the_original_with_its_bookkeeping(
    delivery, reason, queue, bookkeeping, expiration
):
    publish = Mock()
    Redeliverer(publish, POLICY).retry(delivery, reason)
    publish.assert_called_once_with(
        BODY,
        routing_key=queue.name,
        headers={"trace": "abc", ROUTING_KEY_HEADER: "log.WARNING", **bookkeeping},
        message_id="m-1",
        content_type="application/json",
        content_encoding="utf-8",
        expiration=expiration,
    )


def test_a_poison_message_is_dead_lettered_as_published_even_without_content_type():
    publish = Mock()
    poison = first_delivery(body=b"\x00garbage", content_type=None, content_encoding=None)
    Redeliverer(publish, POLICY).dead_letter(poison, "invalid log entry: malformed JSON body")
    (body,), options = publish.call_args
    assert body == b"\x00garbage"
    assert options["routing_key"] == DEAD_LETTER_QUEUE.name
    assert options["headers"][REASON_HEADER] == "invalid log entry: malformed JSON body"
    assert options["headers"][ATTEMPTS_HEADER] == 1
    assert options["content_type"] == "application/octet-stream"
    assert options["content_encoding"] == "binary"


def test_a_failed_republish_is_raised_so_the_original_is_not_acknowledged():
    publish = Mock(side_effect=ConnectionError("RabbitMQ unreachable"))
    with pytest.raises(ConnectionError):
        Redeliverer(publish, POLICY).retry(first_delivery(), "logger down")
