"""The settings base model, its error messages, and how a container validates its config once."""

import os
import subprocess
import sys
from typing import Annotated
from unittest.mock import Mock

import pytest
from nameko.testing.services import dummy
from pydantic import AfterValidator, Field, ValidationError

from common.config import ROOT
from common.settings import (
    Count,
    HostAndPort,
    InvalidSetting,
    Seconds,
    ServiceSettings,
    Settings,
    one_of,
    settings_for,
    single_setting,
)


class ExampleSettings(ServiceSettings):
    service = "example"

    max_body_bytes: Count
    linger: Annotated[float, Field(ge=0)]
    timeout: Seconds
    enabled: bool
    transport: Annotated[str, AfterValidator(one_of("rabbit", "rpc"))]
    target: HostAndPort
    workers: Annotated[int, Field(ge=1, le=8)]
    password: str = Field(repr=False)


GOOD = {
    "MAX_BODY_BYTES": 1024,
    "LINGER": 0,
    "TIMEOUT": 5,
    "ENABLED": False,
    "TRANSPORT": "RPC",
    "TARGET": "localhost:50001",
    "WORKERS": 8,
    "PASSWORD": "s3cret",
    "AMQP_URI": "pyamqp://guest:guest@localhost",  # someone else's key: ignored
}


def test_upper_case_keys_become_typed_snake_case_attributes():
    settings = ExampleSettings.from_config(GOOD)

    assert settings.max_body_bytes == 1024
    assert settings.timeout == 5.0 and isinstance(settings.timeout, float)
    assert settings.enabled is False
    assert settings.transport == "rpc"
    assert settings.target == "localhost:50001"
    assert not hasattr(settings, "amqp_uri")
    assert "s3cret" not in repr(settings)


def test_settings_are_read_only():
    settings = ExampleSettings.from_config(GOOD)

    with pytest.raises(ValidationError):
        settings.max_body_bytes = 1


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("MAX_BODY_BYTES", "abc", "MAX_BODY_BYTES must be an integer, got 'abc'"),
        ("MAX_BODY_BYTES", "1024", "MAX_BODY_BYTES must be an integer, got '1024'"),
        ("MAX_BODY_BYTES", True, "MAX_BODY_BYTES must be an integer, got True"),
        ("MAX_BODY_BYTES", 1.5, "MAX_BODY_BYTES must be an integer, got 1.5"),
        ("MAX_BODY_BYTES", 0, "MAX_BODY_BYTES must be at least 1, got 0"),
        ("LINGER", -0.1, "LINGER must not be negative, got -0.1"),
        ("TIMEOUT", 0, "TIMEOUT must be above zero, got 0"),
        ("TIMEOUT", "soon", "TIMEOUT must be a number, got 'soon'"),
        ("ENABLED", "yes", "ENABLED must be true or false, got 'yes'"),
        ("ENABLED", 1, "ENABLED must be true or false, got 1"),
        ("TRANSPORT", "pigeon", "TRANSPORT must be one of rabbit, rpc, got 'pigeon'"),
        ("TRANSPORT", 7, "TRANSPORT must be a string, got 7"),
        ("TARGET", "localhost", "TARGET must be host:port, got 'localhost'"),
        ("WORKERS", 9, "WORKERS must be at most 8, got 9"),
    ],
)
def test_a_bad_value_is_named_with_what_is_wrong_and_what_was_given(key, value, message):
    with pytest.raises(InvalidSetting) as raised:
        ExampleSettings.from_config({**GOOD, key: value})

    assert str(raised.value) == f"example config: {message}"


def test_a_missing_key_is_named():
    config = {key: value for key, value in GOOD.items() if key != "TIMEOUT"}

    with pytest.raises(InvalidSetting, match=r"^example config: TIMEOUT is missing$"):
        ExampleSettings.from_config(config)


def test_a_secret_is_never_shown():
    with pytest.raises(InvalidSetting) as raised:
        ExampleSettings.from_config({**GOOD, "PASSWORD": 123456})

    assert str(raised.value) == "example config: PASSWORD must be a string"


def test_every_problem_is_reported_at_once_for_the_named_service():
    with pytest.raises(InvalidSetting) as raised:
        ExampleSettings.from_config({**GOOD, "WORKERS": 0, "ENABLED": "no"}, service="broker")

    assert str(raised.value) == (
        "broker config: ENABLED must be true or false, got 'no'; WORKERS must be at least 1, got 0"
    )


def test_invalid_setting_is_a_value_error():
    assert issubclass(InvalidSetting, ValueError)


def test_a_model_reads_its_service_config_file():
    class Listener(ServiceSettings):
        service = "listener"
        batch_max_size: Count

    assert Listener.from_config_file().batch_max_size == 128


def test_a_container_validates_its_config_once_and_shares_the_result():
    container = Mock(config=dict(GOOD), service_name="example")

    first = settings_for(container, ExampleSettings)
    container.config["MAX_BODY_BYTES"] = "changed after the start"

    assert settings_for(container, ExampleSettings) is first
    provider = Settings(ExampleSettings).bind(container, "settings")
    provider.setup()
    assert provider.get_dependency(Mock()) is first


def test_each_container_has_its_own_settings():
    one = Mock(config={**GOOD, "WORKERS": 1}, service_name="example")
    two = Mock(config={**GOOD, "WORKERS": 2}, service_name="example")

    assert settings_for(one, ExampleSettings).workers == 1
    assert settings_for(two, ExampleSettings).workers == 2


def test_a_mock_container_without_a_name_is_named_by_the_model(mock_container):
    mock_container.config.update({**GOOD, "WORKERS": 0})

    with pytest.raises(InvalidSetting, match=r"^example config: WORKERS"):
        settings_for(mock_container, ExampleSettings)


def test_a_single_key_model_for_a_shared_extension():
    model = single_setting("SLOW_TIMEOUT", Seconds)

    assert model is single_setting("SLOW_TIMEOUT", Seconds)
    assert model.from_config({"SLOW_TIMEOUT": 2}).value == 2.0
    with pytest.raises(InvalidSetting, match=r"^caller config: SLOW_TIMEOUT must be above zero"):
        model.from_config({"SLOW_TIMEOUT": -1}, service="caller")


class Configured:
    name = "configured"

    settings = Settings(ExampleSettings)

    @dummy
    def workers(self):
        return self.settings.workers


def test_a_bad_value_stops_the_container_starting(container_factory):
    container = container_factory(Configured, {**GOOD, "WORKERS": "many"})

    with pytest.raises(InvalidSetting, match=r"^configured config: WORKERS must be an integer"):
        container.start()


def test_nameko_run_refuses_to_start_and_says_why():
    """The real command: a clear last line on stderr and a failed exit status."""
    environment = {
        **os.environ,
        "RABBIT_PUBLISH_CONNECTIONS": "abc",
        "BROKER_ADDRESS": "127.0.0.1:0",
    }
    command = [sys.executable, "-m", "nameko", "run", "--config", "broker/config.yaml"]

    result = subprocess.run(
        [*command, "broker.service"], cwd=ROOT, env=environment, capture_output=True, timeout=60
    )

    assert result.returncode != 0
    last_line = result.stderr.decode().strip().splitlines()[-1]
    expected = "broker config: RABBIT_PUBLISH_CONNECTIONS must be an integer, got 'abc'"
    assert last_line.endswith(expected)
