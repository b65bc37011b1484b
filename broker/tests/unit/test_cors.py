import pytest
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.exceptions import RequestEntityTooLarge

from broker.cors import CorsPolicy
from broker.errors import INTERNAL_ERROR, status_and_message
from common.errors import (
    DownstreamError,
    DownstreamUnavailable,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    PayloadTooLarge,
)

POLICY = CorsPolicy.from_setting(
    "http://localhost:8081, http://localhost:* https://app.example.com"
)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:8081", True),
        ("http://localhost:3000", True),
        ("https://app.example.com", True),
        ("https://evil.example.com", False),
        ("http://localhost.evil.com", False),
        ("", False),
        (None, False),
    ],
)
def test_origin_matching(origin, allowed):
    assert POLICY.allows(origin) is allowed
    headers = dict(POLICY.preflight_headers(origin))
    assert ("Access-Control-Allow-Origin" in headers) is allowed
    assert headers["Vary"] == "Origin"
    if allowed:
        assert headers["Access-Control-Allow-Origin"] == origin
        assert headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, DELETE, OPTIONS"
        assert "X-Request-ID" in headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (InvalidInput("auth.email is required"), 400, "auth.email is required"),
        (InvalidCredentials("invalid credentials"), 401, "invalid credentials"),
        (Forbidden("off"), 403, "off"),
        (PayloadTooLarge("too big"), 413, "too big"),
        (DownstreamError("smtp said no"), 502, "smtp said no"),
        (DownstreamUnavailable("auth did not answer"), 504, "auth did not answer"),
        (UnknownService("auth"), 504, "auth service is not running"),
        (RequestEntityTooLarge(), 413, RequestEntityTooLarge.description.rstrip(".")),
        (RemoteError("KeyError", "'secret internals'"), 502, "a downstream service failed"),
        (KeyError("secret internals"), 500, INTERNAL_ERROR),
    ],
)
def test_error_table(exc, status, message):
    assert status_and_message(exc) == (status, message)
