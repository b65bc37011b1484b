"""The providers' wiring: settings from the container config, what their wrappers call."""

from unittest.mock import Mock

import pytest

from common.validation import LogEntry
from listener.dependencies import LogBatch, Redelivery
from listener.queues import DEAD_LETTER_QUEUE, RETRY_QUEUE
from listener.retries import RetryPolicy


@pytest.fixture
def config(mock_container):
    mock_container.config.update(
        {
            "AMQP_URI": "pyamqp://guest:guest@localhost/test",
            "BATCH_MAX_SIZE": 3,
            "BATCH_LINGER": 0,
            "RETRY_MAX_ATTEMPTS": 2,
            "RETRY_BACKOFF_BASE": 0.1,
            "RETRY_BACKOFF_MAX": 0.4,
        }
    )
    return mock_container


def test_log_batch_takes_its_settings_from_the_config(config):
    provider = LogBatch().bind(config, "log_batch")
    provider.setup()
    assert (provider.batcher.max_size, provider.batcher.linger) == (3, 0.0)


def test_log_batch_writes_entries_as_plain_name_and_data(config):
    provider = LogBatch().bind(config, "log_batch")
    provider.setup()
    write_logs = Mock(return_value=1)
    provider.get_dependency(Mock()).store(LogEntry(name="event", data="payload"), write_logs)
    write_logs.assert_called_once_with([{"name": "event", "data": "payload"}])


def test_redelivery_publishes_with_confirms_to_declared_queues(config):
    provider = Redelivery().bind(config, "redelivery")
    provider.setup()
    publisher = provider.publisher
    assert publisher.amqp_uri == "pyamqp://guest:guest@localhost/test"
    assert (publisher.use_confirms, publisher.mandatory) == (True, True)
    assert publisher.declare == [RETRY_QUEUE, DEAD_LETTER_QUEUE]
    redeliverer = provider.get_dependency(Mock())
    assert redeliverer.policy == RetryPolicy(max_attempts=2, backoff_base=0.1, backoff_max=0.4)
