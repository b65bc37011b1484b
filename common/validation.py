"""One place for input rules: pydantic models plus a function that turns a validation failure
into `InvalidInput` with a message naming the field ("auth.email is required").

The log entry rules live here because every transport (HTTP, Nameko RPC, XML-RPC, gRPC, the
RabbitMQ listener) must apply the same ones.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, ValidationError

from common.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)

MAX_LOG_NAME_CHARS = 255
MAX_LOG_DATA_BYTES = 64 * 1024


def _at_most_64_kib(value: str) -> str:
    if len(value.encode("utf-8")) > MAX_LOG_DATA_BYTES:
        raise ValueError("must be at most 64 KiB")
    return value


class Payload(BaseModel):
    """Base for request parts: strict types (no "1" -> 1 coercion), unknown keys ignored."""

    model_config = ConfigDict(strict=True, frozen=True)


class LogEntry(Payload):
    name: Annotated[str, StringConstraints(min_length=1, max_length=MAX_LOG_NAME_CHARS)]
    data: Annotated[str, AfterValidator(_at_most_64_kib)]


def _describe(error: dict[str, Any], prefix: str) -> str:
    field = ".".join([prefix, *map(str, error["loc"])] if prefix else map(str, error["loc"]))
    field = field or "body"
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "missing":
        return f"{field} is required"
    if kind in ("string_type",):
        return f"{field} must be a string"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{field} must be an object"
    if kind in ("int_type", "float_type"):
        return f"{field} must be a number"
    if kind == "string_too_short":
        return f"{field} must not be empty"
    if kind == "string_too_long":
        return f"{field} must be at most {context.get('max_length')} characters"
    if kind == "value_error":
        return f"{field} {context.get('error', error['msg'])}"
    return f"{field}: {error['msg']}"


def validate(model: type[Model], value: Any, field: str = "") -> Model:
    """Validate `value` (already parsed JSON) against `model`, or raise `InvalidInput`.

    `field` is where the value sits in the request, used to prefix the field names in messages.
    """
    if value is None and field:
        raise InvalidInput(f"{field} is required")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc.errors()[0], field)) from None


def parse_json_object(raw: bytes | str) -> dict[str, Any]:
    """Parse a request body that must be exactly one JSON object."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("malformed JSON body") from None
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


class Credentials(Payload):
    email: str
    password: str
