"""The mailer's settings model: its own checks, and strings that YAML must not retype."""

import pytest

from common.config import service_config
from common.settings import InvalidSetting
from mailer.settings import SmtpSettings


def settings(**overrides) -> SmtpSettings:
    return SmtpSettings.from_config({**service_config("mailer"), **overrides})


@pytest.mark.parametrize(("value", "encryption"), [("", "none"), ("TLS", "tls"), ("ssl", "ssl")])
def test_encryption_reads_in_any_case_and_blank_means_none(value, encryption):
    assert settings(MAIL_ENCRYPTION=value).encryption == encryption


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"MAIL_PORT": 0}, "MAIL_PORT must be at least 1, got 0"),
        ({"MAIL_PORT": 70000}, "MAIL_PORT must be at most 65535, got 70000"),
        ({"MAIL_PORT": "smtp"}, "MAIL_PORT must be an integer, got 'smtp'"),
        ({"MAIL_HOST": ""}, "MAIL_HOST must not be empty, got ''"),
        ({"MAIL_TIMEOUT": 0}, "MAIL_TIMEOUT must be above zero, got 0"),
        ({"MAIL_PASSWORD": 1234}, "MAIL_PASSWORD must be a string$"),
    ],
)
def test_bad_values_are_named(overrides, problem):
    with pytest.raises(InvalidSetting, match=f"^mailer config: {problem}"):
        settings(**overrides)


def test_names_and_passwords_stay_strings_whatever_they_look_like(monkeypatch):
    """`!raw_env_var`: YAML would read these as a boolean, a number and null."""
    monkeypatch.setenv("FROM_NAME", "yes")
    monkeypatch.setenv("MAIL_PASSWORD", "123456")
    monkeypatch.setenv("MAIL_USERNAME", "null")

    loaded = SmtpSettings.from_config(service_config("mailer"))

    assert (loaded.from_name, loaded.password, loaded.username) == ("yes", "123456", "null")
    assert str(loaded.default_sender) == "yes <john.smith@example.com>"
