"""The one table from an exception to the status and message a client sees."""

import pytest
from amqp.exceptions import RecoverableConnectionError
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.exceptions import RequestEntityTooLarge

from common.errors import (
    DownstreamError,
    DownstreamUnavailable,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    PayloadTooLarge,
    ServiceUnavailable,
)
from common.web.errors import INTERNAL_ERROR, status_and_message


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (InvalidInput("auth.email is required"), 400, "auth.email is required"),
        (InvalidCredentials("invalid credentials"), 401, "invalid credentials"),
        (Forbidden("off"), 403, "off"),
        (PayloadTooLarge("too big"), 413, "too big"),
        (DownstreamError("smtp said no"), 502, "smtp said no"),
        (DownstreamUnavailable("auth did not answer"), 504, "auth did not answer"),
        (ServiceUnavailable("auth service is not running"), 503, "auth service is not running"),
        (UnknownService("auth"), 503, "auth service is not running"),
        (OperationalError("[Errno 111] ECONNREFUSED"), 503, "RabbitMQ is unavailable"),
        (RecoverableConnectionError("connection already closed"), 503, "RabbitMQ is unavailable"),
        (RequestEntityTooLarge(), 413, RequestEntityTooLarge.description.rstrip(".")),
        (RemoteError("KeyError", "'secret internals'"), 502, "a downstream service failed"),
        (KeyError("secret internals"), 500, INTERNAL_ERROR),
    ],
)
def test_error_table(exc, status, message):
    assert status_and_message(exc) == (status, message)
