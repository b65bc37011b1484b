"""ListenerService's decisions, with every dependency mocked by worker_factory."""

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import worker_factory

from common.errors import DownstreamUnavailable
from common.validation import LogEntry
from listener.consumer import Delivery
from listener.service import ListenerService


def delivery(body: bytes) -> Delivery:
    return Delivery(body=body, routing_key="log.INFO", message_id="m-1")


def test_a_valid_entry_is_stored_through_the_logger_batch_and_nothing_is_republished():
    service = worker_factory(ListenerService)
    service.handle_log(delivery(b'{"name": "event", "data": "payload"}'))
    service.log_batch.store.assert_called_once_with(
        LogEntry(name="event", data="payload"), service.logger.write_logs
    )
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
    message = delivery(body)
    service.handle_log(message)
    service.redelivery.dead_letter.assert_called_once_with(message, reason)
    service.log_batch.store.assert_not_called()
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
def test_a_failed_store_is_retried_with_the_reason(error, reason):
    service = worker_factory(ListenerService)
    service.log_batch.store.side_effect = error
    message = delivery(b'{"name": "event", "data": "payload"}')
    service.handle_log(message)
    service.redelivery.retry.assert_called_once_with(message, reason)
    service.redelivery.dead_letter.assert_not_called()


def test_a_failed_redelivery_is_raised_so_that_the_message_is_requeued():
    service = worker_factory(ListenerService)
    service.log_batch.store.side_effect = DownstreamUnavailable("logger service is not running")
    service.redelivery.retry.side_effect = ConnectionError("RabbitMQ unreachable")
    with pytest.raises(ConnectionError):
        service.handle_log(delivery(b'{"name": "event", "data": "payload"}'))
