"""Ids that travel with the work: the request id (one per HTTP request, for following it across
services) and the event id (one per log event, the key that makes storage exactly-once).

Both may come from a caller (`X-Request-ID`, `Idempotency-Key`), so both are checked the same
way: short, printable ASCII, nothing that could forge a log line or a header. A request id that
fails the check is replaced (it only helps to follow a request); an idempotency key that fails
it is refused (silently replacing it would store a retry twice).
"""

from __future__ import annotations

import uuid

from common.errors import InvalidInput

MAX_ID_CHARS = 128

# HTTP headers, gRPC metadata keys (lower case, as gRPC requires), AMQP header, Nameko context.
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_METADATA = "x-request-id"
REQUEST_ID_AMQP_HEADER = "x-request-id"
REQUEST_ID_CONTEXT_KEY = "request_id"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_METADATA = "idempotency-key"
IDEMPOTENCY_KEY_CONTEXT_KEY = "idempotency_key"


def new_id() -> str:
    return uuid.uuid4().hex


def is_valid_id(value: object) -> bool:
    """1 to 128 printable ASCII characters, no space."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_CHARS
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def request_id(given: object) -> str:
    """The caller's request id when it is a valid one, else a fresh one."""
    return given if is_valid_id(given) else new_id()  # type: ignore[return-value]


def event_id(given: object, field: str = "Idempotency-Key") -> str:
    """The caller's idempotency key (checked), or a fresh event id when none was given."""
    if given is None or given == "":
        return new_id()
    if not is_valid_id(given):
        raise InvalidInput(f"{field} must be 1 to {MAX_ID_CHARS} printable ASCII characters")
    return given  # type: ignore[return-value]
