"""Access tokens (common/tokens.py): what a start refuses, and what a check accepts."""

from datetime import UTC, datetime, timedelta

import pytest

from broker.settings import BrokerSettings
from common.config import service_config
from common.errors import Unauthorized
from common.settings import InvalidSetting
from common.tokens import TokenKeys, bearer_token

REAL = "0123456789abcdef0123456789abcdef-real"


def settings(**overrides):
    return BrokerSettings.from_config({**service_config("broker"), **overrides})


def test_development_accepts_the_development_secret():
    assert settings().environment == "development"
    assert settings().token_keys.verify(settings().token_keys.issue("1"))["sub"] == "1"


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("", "JWT_SECRET must not be empty"),
        ("tiny-s3cret", "JWT_SECRET must be a real secret"),
        ("development-only-jwt-secret-change-me", "JWT_SECRET must be a real secret"),
        ("x" * 40 + "change-me", "JWT_SECRET must be a real secret"),
    ],
    ids=["missing", "short", "the-development-default", "a-placeholder"],
)
def test_production_refuses_a_missing_short_or_placeholder_secret(secret, problem):
    with pytest.raises(InvalidSetting, match=problem) as raised:
        settings(ENVIRONMENT="production", JWT_SECRET=secret)
    assert not secret or secret not in str(raised.value)  # never shown


def test_production_starts_with_a_real_secret_and_checks_the_previous_one_too():
    with pytest.raises(InvalidSetting, match="JWT_PREVIOUS_SECRET must be a real secret"):
        settings(ENVIRONMENT="production", JWT_SECRET=REAL, JWT_PREVIOUS_SECRET="change-me")
    assert settings(ENVIRONMENT="production", JWT_SECRET=REAL).jwt_secret == REAL


def test_an_unknown_environment_is_refused():
    with pytest.raises(InvalidSetting, match="ENVIRONMENT must be one of development, production"):
        settings(ENVIRONMENT="staging")


def test_a_rotated_key_still_checks_the_tokens_it_signed_by_key_id():
    old = TokenKeys("k1", "a" * 40, {}, "iss", 900)
    new = TokenKeys("k2", "b" * 40, {"k1": "a" * 40}, "iss", 900)
    token = old.issue("7")
    assert new.verify(token)["sub"] == "7"
    assert new.verify(new.issue("8"))["sub"] == "8"
    with pytest.raises(Unauthorized, match="invalid access token"):
        TokenKeys("k2", "b" * 40, {}, "iss", 900).verify(token)  # k1 no longer accepted


@pytest.mark.parametrize(
    ("token_of", "message"),
    [
        (lambda keys: keys.issue("1", datetime.now(UTC) - timedelta(seconds=901)), "expired"),
        (lambda keys: TokenKeys("k1", "a" * 40, {}, "someone-else", 900).issue("1"), "invalid"),
        (lambda keys: TokenKeys("k1", "c" * 40, {}, "iss", 900).issue("1"), "invalid"),
        (lambda keys: "a.b.c", "malformed"),
    ],
    ids=["expired", "other-issuer", "other-key-same-kid", "garbage"],
)
def test_refused_tokens(token_of, message):
    keys = TokenKeys("k1", "a" * 40, {}, "iss", 900)
    with pytest.raises(Unauthorized, match=message):
        keys.verify(token_of(keys))


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   ", "Token abc"])
def test_only_a_bearer_header_carries_a_token(header):
    with pytest.raises(Unauthorized):
        bearer_token(header)
    assert bearer_token("bearer abc") == "abc"
