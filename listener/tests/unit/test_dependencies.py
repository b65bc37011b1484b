"""The provider's wiring: settings from the container config, what its wrapper publishes with."""

from unittest.mock import Mock

from listener.dependencies import Redelivery
from listener.retries import RetryPolicy


def test_redelivery_publishes_with_confirms_and_declares_its_queues_lazily(mock_container):
    mock_container.config.update(
        {
            "AMQP_URI": "pyamqp://guest:guest@localhost/test",
            "RETRY_MAX_ATTEMPTS": 2,
            "RETRY_BACKOFF_BASE": 0.1,
            "RETRY_BACKOFF_MAX": 0.4,
        }
    )
    provider = Redelivery().bind(mock_container, "redelivery")
    provider.setup()
    publisher = provider.publisher
    assert publisher.amqp_uri == "pyamqp://guest:guest@localhost/test"
    assert (publisher.use_confirms, publisher.mandatory) == (True, True)
    # Declared before the first republish (RabbitMQ may be down at start), not on every one.
    assert publisher.declare == []
    assert provider.declared is False
    redeliverer = provider.get_dependency(Mock())
    assert redeliverer.policy == RetryPolicy(max_attempts=2, backoff_base=0.1, backoff_max=0.4)
