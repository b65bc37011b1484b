"""The HTTP server's settings: where it listens, and the limits that bound what one client can hold.

Each server reads its address from one config key (`WEB_SERVER_ADDRESS`, as Nameko's own server
did, or e.g. `LOGGER_XMLRPC_ADDRESS`) and its limits from a mapping under another
(`WEB_SERVER_LIMITS`, `LOGGER_XMLRPC_LIMITS`), UPPER_CASE like every config key. The values are
written once, in each service's config.yaml; this model holds their types and constraints, and is
checked once when the server is set up: a bad value stops the service at start with a message
naming the key, instead of failing requests later. The error is `InvalidSetting`, as for every
other setting: `nameko run` exits non-zero on it (it prints Nameko's own `ConfigurationError` and
exits 0, which a supervisor or an orchestrator would take for a clean stop).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nameko.exceptions import ConfigurationError
from nameko.web.server import BindAddress, parse_address
from pydantic import (
    BaseModel,
    ConfigDict,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
)

from common.settings import InvalidSetting


class ServerLimits(BaseModel):
    """Times in seconds, sizes in bytes."""

    model_config = ConfigDict(
        alias_generator=str.upper, populate_by_name=True, frozen=True, extra="forbid"
    )

    # Open connections at most; past it a new one gets a 503 and is closed.
    max_connections: PositiveInt
    # A request's line and headers must arrive within this, counted from its first byte (from the
    # accept for a connection's first request): a client trickling headers is cut off (408).
    header_timeout: PositiveFloat
    # The whole body must arrive within this after the headers (408).
    body_timeout: PositiveFloat
    # A kept-alive connection with no request in progress is closed after this.
    idle_timeout: PositiveFloat
    # A response must be taken by the client within this.
    write_timeout: PositiveFloat
    max_header_bytes: PositiveInt  # the header fields of one request (431)
    max_url_bytes: PositiveInt  # the request target (414)
    max_body_bytes: PositiveInt  # declared (refused before reading) or received so far (413)
    # After an early 413, up to this much of the body the client is still sending is read and
    # dropped within `linger_timeout`, so a client that sends the whole body before reading
    # (urllib, requests) reads its 413 instead of a broken pipe.
    linger_bytes: NonNegativeInt
    linger_timeout: NonNegativeFloat
    # How long a stop waits for responses still being written before it closes their connections.
    stop_grace: NonNegativeFloat


class ServerSettings(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    address: BindAddress
    limits: ServerLimits


def load_server_settings(
    config: Mapping[str, Any], address_key: str, limits_key: str, service: str
) -> ServerSettings:
    """The server's settings from a container config, or `InvalidSetting` naming the key."""
    where = f"{service} config"
    if address_key not in config:
        raise InvalidSetting(f"{where}: {address_key} is required")
    try:
        address = parse_address(str(config[address_key]))
    except ConfigurationError as exc:
        raise InvalidSetting(f"{where}: {address_key}: {exc}") from None
    limits = config.get(limits_key)
    if not isinstance(limits, Mapping):
        raise InvalidSetting(f"{where}: {limits_key} must be a mapping of the server's limits")
    try:
        return ServerSettings(address=address, limits=ServerLimits.model_validate(dict(limits)))
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join([limits_key, *map(str, error["loc"])])
        if error["type"] == "missing":
            raise InvalidSetting(f"{where}: {key} is required") from None
        if error["type"] == "extra_forbidden":
            raise InvalidSetting(f"{where}: {key} is not a setting of the server") from None
        message = error["msg"].replace("Input should be", "must be")
        raise InvalidSetting(f"{where}: {key} {message}, got {error['input']!r}") from None
