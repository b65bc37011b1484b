"""ListenerService's decisions for a batch, with every dependency mocked by worker_factory."""

from unittest.mock import call

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import worker_factory

from common.errors import DownstreamUnavailable, ServiceUnavailable
from listener.deliveries import Delivery
from listener.service import ListenerService


def delivery(body: bytes, number: int = 1) -> Delivery:
    return Delivery(body=body, routing_key="log.INFO", message_id=f"m-{number}")


def valid(number: int) -> Delivery:
    return delivery(f'{{"name": "event", "data": "payload {number}"}}'.encode(), number)


def stored(number: int) -> dict[str, str | None]:
    """What the logger is asked to store for `valid(number)`: the message id is the event id."""
    return {
        "name": "event",
        "data": f"payload {number}",
        "id": f"m-{number}",
        "level": "INFO",
        "request_id": None,
    }


def test_a_batch_of_valid_entries_is_stored_with_one_logger_write_and_nothing_is_republished():
    service = worker_factory(ListenerService)
    service.handle_logs([valid(1), valid(2), valid(3)])
    service.logger_rpc.write_logs.assert_called_once_with([stored(1), stored(2), stored(3)])
    service.redelivery.retry.assert_not_called()
    service.redelivery.dead_letter.assert_not_called()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid log entry: malformed JSON body"),
        (b"[]", "invalid log entry: body must be a JSON object"),
        (b'{"data": "x"}', "invalid log entry: name is required"),
        (b'{"name": "a", "data": 7}', "invalid log entry: data must be a string"),
    ],
)
def test_an_invalid_body_goes_straight_to_the_dead_letters(body, reason):
    service = worker_factory(ListenerService)
    poison = delivery(body)
    service.handle_logs([poison])
    service.redelivery.dead_letter.assert_called_once_with(poison, reason)
    service.logger_rpc.write_logs.assert_not_called()
    service.redelivery.retry.assert_not_called()


def test_invalid_bodies_are_dead_lettered_and_the_valid_ones_stored_together():
    service = worker_factory(ListenerService)
    poison = delivery(b"{not json", 2)
    service.handle_logs([valid(1), poison, valid(3)])
    service.redelivery.dead_letter.assert_called_once_with(
        poison, "invalid log entry: malformed JSON body"
    )
    service.logger_rpc.write_logs.assert_called_once_with([stored(1), stored(3)])
    service.redelivery.retry.assert_not_called()


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (DownstreamUnavailable("logger service is not running"), "logger service is not running"),
        (
            RemoteError("ServerSelectionTimeoutError", "localhost:27017: connection refused"),
            "RemoteError: ServerSelectionTimeoutError localhost:27017: connection refused",
        ),
    ],
)
def test_every_entry_of_a_failed_write_is_retried_with_the_reason(error, reason):
    service = worker_factory(ListenerService)
    service.logger_rpc.write_logs.side_effect = error
    poison = delivery(b"[]", 2)
    service.handle_logs([valid(1), poison, valid(3)])
    assert service.redelivery.retry.call_args_list == [
        call(valid(1), reason),
        call(valid(3), reason),
    ]
    service.redelivery.dead_letter.assert_called_once_with(
        poison, "invalid log entry: body must be a JSON object"
    )


@pytest.mark.parametrize("failing", ["retry", "dead_letter"])
def test_a_failed_redelivery_is_raised_so_that_the_batch_is_requeued(failing):
    service = worker_factory(ListenerService)
    unavailable = DownstreamUnavailable("logger service is not running")
    service.logger_rpc.write_logs.side_effect = unavailable
    getattr(service.redelivery, failing).side_effect = ConnectionError("RabbitMQ unreachable")
    with pytest.raises(ConnectionError):
        service.handle_logs([valid(1), delivery(b"[]", 2)])


def test_no_logger_at_all_requeues_the_batch_without_spending_an_attempt():
    service = worker_factory(ListenerService)
    service.logger_rpc.write_logs.side_effect = ServiceUnavailable("logger is not running")
    with pytest.raises(ServiceUnavailable):
        service.handle_logs([valid(1), valid(2)])
    service.redelivery.retry.assert_not_called()
    service.redelivery.dead_letter.assert_not_called()
