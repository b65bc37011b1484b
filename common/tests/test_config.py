import re

import pytest
import yaml

from common.config import ROOT, load_config, service_config


def test_env_vars_fill_in_and_defaults_apply(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    path.write_text(
        "AMQP_URI: ${TEST_AMQP:pyamqp://guest:guest@localhost}\n"
        "PORT: ${TEST_PORT:8080}\n"
        "ENABLED: ${TEST_ENABLED:true}\n"
        "NAME: ${TEST_NAME}\n"
    )
    monkeypatch.setenv("TEST_PORT", "9090")
    monkeypatch.setenv("TEST_NAME", "broker")
    monkeypatch.delenv("TEST_AMQP", raising=False)
    monkeypatch.delenv("TEST_ENABLED", raising=False)
    assert load_config(path) == {
        "AMQP_URI": "pyamqp://guest:guest@localhost",
        "PORT": 9090,
        "ENABLED": True,
        "NAME": "broker",
    }


def test_every_service_config_loads_with_its_defaults():
    for service in ("broker", "auth", "logger", "listener", "mailer", "gateway_ui"):
        config = service_config(service)
        assert "LOGGING" in config, service


class TaggedLoader(yaml.SafeLoader):
    """Reads a config.yaml without expanding it, telling `!raw_env_var` values from the others."""


TaggedLoader.add_constructor("!raw_env_var", lambda loader, node: ("raw", node.value))
TaggedLoader.add_constructor("!env_var", lambda loader, node: ("yaml", node.value))
TaggedLoader.add_implicit_resolver("!env_var", re.compile(r".*\$\{.*\}.*"), None)


def service_models():
    from auth.settings import AuthSettings
    from broker.settings import BrokerSettings
    from gateway_ui.settings import PageSettings
    from listener.settings import ListenerSettings
    from logger.settings import LoggerSettings
    from mailer.settings import SmtpSettings

    return [
        BrokerSettings,
        AuthSettings,
        LoggerSettings,
        ListenerSettings,
        SmtpSettings,
        PageSettings,
    ]


@pytest.mark.parametrize("model", service_models(), ids=lambda model: model.service)
def test_each_service_model_accepts_its_config_file_as_it_is(model):
    assert model.from_config_file().service == model.service


@pytest.mark.parametrize("model", service_models(), ids=lambda model: model.service)
def test_every_string_setting_is_read_raw_so_yaml_cannot_retype_it(model):
    """`${FROM_NAME:John}` would read FROM_NAME=yes as True: strings are `!raw_env_var`."""
    text = (ROOT / model.service / "config.yaml").read_text()
    config = yaml.load(text, Loader=TaggedLoader)
    tags = {}
    for field in model.model_fields.values():
        if field.annotation is str:
            tags[field.alias] = config[field.alias][0]
        elif field.annotation == dict[str, str]:  # auth's DB_URIS
            tags.update({f"{field.alias}.{k}": v[0] for k, v in config[field.alias].items()})

    assert tags
    assert tags == dict.fromkeys(tags, "raw")
