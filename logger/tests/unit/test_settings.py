"""The logger's settings model: its checks, and strings that YAML must not retype."""

import pytest

from common.config import service_config
from common.settings import InvalidSetting
from logger.settings import LoggerSettings


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"LOGGER_GRPC_ADDRESS": "50001"}, "LOGGER_GRPC_ADDRESS must be host:port, got '50001'"),
        ({"LOGGER_XMLRPC_ADDRESS": "0.0.0.0:"}, "LOGGER_XMLRPC_ADDRESS must be host:port"),
        ({"LOGGER_GRPC_WORKERS": 0}, "LOGGER_GRPC_WORKERS must be at least 1, got 0"),
        ({"MONGO_TIMEOUT_MS": "2s"}, "MONGO_TIMEOUT_MS must be an integer, got '2s'"),
        ({"MONGO_DATABASE": ""}, "MONGO_DATABASE must not be empty, got ''"),
    ],
)
def test_bad_values_are_named(overrides, problem):
    with pytest.raises(InvalidSetting, match=f"^logger config: {problem}"):
        LoggerSettings.from_config({**service_config("logger"), **overrides})


def test_a_database_name_that_looks_like_a_number_stays_a_name(monkeypatch):
    monkeypatch.setenv("MONGO_DATABASE", "2024")

    assert LoggerSettings.from_config_file().mongo_database == "2024"
