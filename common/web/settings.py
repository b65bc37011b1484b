"""The HTTP server's settings: where it listens, and the limits that bound what one client can hold.

Each server reads its address from one config key (`WEB_SERVER_ADDRESS`, as Nameko's own server
did, or e.g. `LOGGER_XMLRPC_ADDRESS`) and its limits from a mapping under another
(`WEB_SERVER_LIMITS`, `LOGGER_XMLRPC_LIMITS`), UPPER_CASE like every config key. The values are
written once, in each service's config.yaml; the model holds their types and constraints. It is a
`ServiceSettings` like every service's (common/settings.py), made for the two keys a server is
told: validated once per container (`settings_for`), and a bad value stops the service at start
with `InvalidSetting` naming the key (`broker config: WEB_SERVER_LIMITS.MAX_BODY_BYTES must be an
integer, got 'abc'`), on which `nameko run` exits non-zero.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from nameko.web.server import BindAddress, parse_address
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    create_model,
)

from common.settings import HostAndPort, ServiceSettings, settings_for


class ServerLimits(BaseModel):
    """Times in seconds, sizes in bytes."""

    # As ServiceSettings: YAML has typed every value; a key of the mapping that the server does not
    # know is a mistake (a typo) to report.
    model_config = ConfigDict(
        alias_generator=str.upper, validate_by_name=True, frozen=True, extra="forbid", strict=True
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


class ServerSettings(ServiceSettings):
    """A server's address and limits; `server_settings_model` names their keys."""

    address: HostAndPort
    limits: ServerLimits

    @property
    def bind_address(self) -> BindAddress:
        return parse_address(self.address)


@cache
def server_settings_model(address_key: str, limits_key: str) -> type[ServerSettings]:
    """The model of a server whose address is under `address_key` and limits under `limits_key`
    (one class per pair, so that a container validates it once)."""
    return create_model(
        f"{address_key.title().replace('_', '')}Settings",
        __base__=ServerSettings,
        address=(HostAndPort, Field(alias=address_key)),
        limits=(ServerLimits, Field(alias=limits_key)),
    )


def load_server_settings(container: Any, address_key: str, limits_key: str) -> ServerSettings:
    """The server's settings from its container's config, or `InvalidSetting` naming the key."""
    return settings_for(container, server_settings_model(address_key, limits_key))
