"""One place for input rules: pydantic models plus a function that turns a validation failure
into `InvalidInput` with a message naming the field ("auth.email is required").

The log entry rules live here because every transport (HTTP, Nameko RPC, XML-RPC, gRPC, the
RabbitMQ listener) must apply the same ones. Text fields refuse the characters some transport
cannot carry: XML 1.0 (XML-RPC) has no NUL, most C0 controls or unpaired surrogates, PostgreSQL
text has no NUL, and UTF-8 (gRPC, MongoDB) no unpaired surrogates. JSON bodies are bounded in
nesting depth, so no document is too deep for the JSON encoders and parsers behind the door.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from common.errors import InvalidInput
from common.ids import MAX_ID_CHARS, is_valid_id

Model = TypeVar("Model", bound=BaseModel)

MAX_LOG_NAME_CHARS = 255
MAX_LOG_DATA_BYTES = 64 * 1024
MAX_LOG_SEARCH_CHARS = 200  # a listing's search over `data` (`q`)
MAX_JSON_DEPTH = 32

# Not in XML 1.0's Char production: C0 controls but tab, LF and CR; surrogates; U+FFFE, U+FFFF.
_UNCARRIABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _carriable(value: Any) -> Any:
    # Before pydantic's own checks: its length constraints choke on a lone surrogate.
    if isinstance(value, str) and (found := _UNCARRIABLE.search(value)):
        raise ValueError(f"must not contain the character U+{ord(found.group()):04X}")
    return value


def _at_most_64_kib(value: str) -> str:
    if len(value.encode("utf-8")) > MAX_LOG_DATA_BYTES:
        raise ValueError("must be at most 64 KiB")
    return value


class Payload(BaseModel):
    """Base for request parts: strict types (no "1" -> 1 coercion), unknown keys ignored."""

    model_config = ConfigDict(strict=True, frozen=True)


Text = Annotated[str, BeforeValidator(_carriable)]


class LogEntry(Payload):
    name: Annotated[
        str,
        BeforeValidator(_carriable),
        StringConstraints(min_length=1, max_length=MAX_LOG_NAME_CHARS),
    ]
    data: Annotated[str, BeforeValidator(_carriable), AfterValidator(_at_most_64_kib)]


LogLevel = Literal["INFO", "WARNING", "ERROR"]


def _an_id(value: Any) -> Any:
    if isinstance(value, str) and not is_valid_id(value):
        raise ValueError(f"must be 1 to {MAX_ID_CHARS} printable ASCII characters")
    return value


AnId = Annotated[str, AfterValidator(_an_id)]


class LogEvent(LogEntry):
    """A log entry as it is stored: with the id that makes storing it twice impossible (set
    where the event entered the system), its level, and the request that produced it."""

    id: AnId | None = None
    level: LogLevel = "INFO"
    request_id: AnId | None = None


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
    if kind in ("string_too_short", "too_short"):
        return f"{field} must not be empty"
    if kind in ("string_too_long", "too_long"):
        return f"{field} must be at most {context.get('max_length')} characters"
    if kind == "literal_error":
        return f"{field} must be one of {context.get('expected')}"
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
    """Parse a request body that must be exactly one JSON object, at most MAX_JSON_DEPTH deep."""
    too_deep = InvalidInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = json.loads(raw)
    except RecursionError:
        raise too_deep from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("malformed JSON body") from None
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    if _may_be_deeper(raw) and _depth(body) > MAX_JSON_DEPTH:
        raise too_deep
    return body


def _may_be_deeper(raw: bytes | str) -> bool:
    # Fewer brackets than the limit cannot nest past it: most bodies skip the walk.
    if isinstance(raw, str):
        return raw.count("{") + raw.count("[") > MAX_JSON_DEPTH
    return raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH


def _depth(value: Any) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        value, depth = pending.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_JSON_DEPTH:
            children = value.values() if isinstance(value, dict) else value
            pending += [(child, depth + 1) for child in children if isinstance(child, dict | list)]
    return deepest


class Credentials(Payload):
    email: Text
    password: Text


class RefreshRequest(Payload):
    """`POST /auth/refresh` and `/auth/logout`: a refresh token as auth issued it."""

    refresh_token: Annotated[Text, StringConstraints(min_length=1, max_length=512)]
