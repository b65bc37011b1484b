"""The MongoDB dependency provider and the event handler's ack/requeue decision."""

import sys
from unittest.mock import Mock

import pytest

from common.config import service_config
from common.errors import DownstreamError, DownstreamUnavailable, InvalidInput
from logger.dependencies import LogStorage
from logger.event_handlers import StoringEventHandler
from logger.storage import LogStore


def test_log_storage_shares_one_client_from_setup_to_stop(mongo_database):
    config = {
        **service_config("logger"),
        "MONGO_URI": "mongodb://127.0.0.1:27017",
        "MONGO_DATABASE": mongo_database,
    }
    container = Mock(config=config)
    provider = LogStorage().bind(container, "storage")

    provider.setup()
    client = provider.client
    first, second = provider.get_dependency(Mock()), provider.get_dependency(Mock())

    assert isinstance(first, LogStore)
    assert first is second
    assert first.insert("name", "data")["name"] == "name"
    assert client.address == ("127.0.0.1", 27017)

    provider.stop()
    assert provider.client is None
    provider.kill()  # stopping twice is harmless


def exc_info_of(exception):
    try:
        raise exception
    except Exception:
        return sys.exc_info()


@pytest.mark.parametrize(
    ("exc_info", "requeued"),
    [
        (None, False),
        (exc_info_of(DownstreamUnavailable("log storage is unavailable")), True),
        (exc_info_of(InvalidInput("event.email is required")), False),
        (exc_info_of(DownstreamError("log storage failed")), False),
    ],
    ids=["stored", "storage-unavailable", "invalid-event", "storage-error"],
)
def test_events_are_requeued_only_when_storage_was_unavailable(exc_info, requeued):
    handler = StoringEventHandler("auth", "user_authenticated")
    handler.queue_consumer = Mock()
    message = Mock()

    handler.handle_message_processed(message, None, exc_info)

    if requeued:
        handler.queue_consumer.requeue_message.assert_called_once_with(message)
        handler.queue_consumer.ack_message.assert_not_called()
    else:
        handler.queue_consumer.ack_message.assert_called_once_with(message)
        handler.queue_consumer.requeue_message.assert_not_called()
