"""Errors that cross service boundaries.

Each carries the HTTP status the broker answers with. They are registered with Nameko's
`deserialize_to_instance`, so a service raising `InvalidCredentials` makes the caller's RPC proxy
raise `InvalidCredentials` too (not a generic `RemoteError`), and the broker maps it by class.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class ServiceError(Exception):
    """Base class: an expected failure whose message is safe to show to a client."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0])

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer to this error carries besides the envelope."""
        return {}


@deserialize_to_instance
class InvalidInput(ServiceError):
    """A missing, wrong-typed or out-of-range field; the message names the field."""

    status = 400


@deserialize_to_instance
class InvalidCredentials(ServiceError):
    status = 401


@deserialize_to_instance
class Unauthorized(ServiceError):
    """A protected route without a valid access token: missing, expired, malformed, or signed
    with another key (RFC 6750: the challenge says which scheme to use)."""

    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="api"'}


@deserialize_to_instance
class Forbidden(ServiceError):
    status = 403


@deserialize_to_instance
class NotFound(ServiceError):
    status = 404


@deserialize_to_instance
class PayloadTooLarge(ServiceError):
    status = 413


@deserialize_to_instance
class UnsupportedMediaType(ServiceError):
    status = 415


# Auth's answer to a throttled sign-in, also given by the broker from its cache of auth's verdicts.
SIGN_IN_THROTTLED = "too many sign-in attempts, try again later"


@deserialize_to_instance
class TooManyRequests(ServiceError):
    """Throttled: try again after `retry_after` seconds (the `Retry-After` header). `scope` says
    what is throttled ("account" or "address"), for a caller that remembers the verdict."""

    status = 429

    def __init__(self, message: str, retry_after: int = 1, scope: str = "") -> None:
        # All in `args`: Nameko rebuilds the exception on the caller's side from them.
        Exception.__init__(self, message, max(1, int(retry_after)), scope)

    @property
    def retry_after(self) -> int:
        return int(self.args[1])

    @property
    def scope(self) -> str:
        return str(self.args[2]) if len(self.args) > 2 else ""

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@deserialize_to_instance
class DownstreamError(ServiceError):
    """A system behind a service (SMTP server, database) answered with an error."""

    status = 502


@deserialize_to_instance
class ServiceUnavailable(ServiceError):
    """Nobody is there to take the work right now: the service has no running instance, or
    RabbitMQ cannot be reached. Known at once, without waiting for a deadline."""

    status = 503


@deserialize_to_instance
class DownstreamUnavailable(ServiceError):
    """A service or the system behind it did not answer in time, or cannot be reached."""

    status = 504
