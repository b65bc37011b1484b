"""The listener's settings: one model made of its extensions' parts, each checked at start."""

import pytest

from common.config import service_config
from common.settings import InvalidSetting
from listener.consumer import BatchLimits
from listener.retries import RetryPolicy
from listener.settings import ListenerSettings


def test_the_service_model_is_its_extensions_parts_together():
    settings = ListenerSettings.from_config(service_config("listener"))

    assert isinstance(settings, BatchLimits) and isinstance(settings, RetryPolicy)
    assert (settings.max_size, settings.max_attempts) == (128, 10)
    assert settings.amqp_uri.startswith("pyamqp://")


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"RETRY_MAX_ATTEMPTS": 0}, "RETRY_MAX_ATTEMPTS must be at least 1, got 0"),
        ({"RETRY_BACKOFF_BASE": 0}, "RETRY_BACKOFF_BASE must be above zero, got 0"),
        ({"RETRY_BACKOFF_MAX": "30s"}, "RETRY_BACKOFF_MAX must be a number, got '30s'"),
        ({"BATCH_LINGER": "fast"}, "BATCH_LINGER must be a number, got 'fast'"),
        ({"AMQP_URI": ""}, "AMQP_URI must not be empty"),
    ],
)
def test_bad_values_are_named(overrides, problem):
    with pytest.raises(InvalidSetting, match=f"^listener config: {problem}$"):
        ListenerSettings.from_config({**service_config("listener"), **overrides})
