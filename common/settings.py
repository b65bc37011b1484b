"""Typed service settings: the one way code reads a service's `config.yaml`.

Each service declares a model in `<service>/settings.py`, a subclass of `ServiceSettings`. Its
attributes are snake_case for the UPPER_CASE keys of config.yaml (`max_body_bytes` reads
`MAX_BODY_BYTES`); it carries types and constraints, never defaults: defaults are written once, in
config.yaml (`${ENV_VAR:default}`), so a key missing from the config is an error rather than a
second, silently different default.

Inside a container the config is validated once: `Settings(Model)` (a dependency provider) and
`settings_for(container, Model)` (for entrypoints, providers and shared extensions) share one
validated object per container and model. A bad value stops the container's start with
`InvalidSetting`, e.g. "broker config: MAX_BODY_BYTES must be an integer, got 'abc'". Processes
outside `nameko run` (the gRPC server, CLI commands) use `Model.from_config_file()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any, ClassVar, Self, TypeVar

from nameko.extensions import DependencyProvider
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from common.config import service_config

Model = TypeVar("Model", bound="ServiceSettings")

# Seconds to wait for something (a reply, a connection): a number above zero.
Seconds = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=1)]
Port = Annotated[int, Field(ge=1, le=65535)]


def _host_and_port(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("must be host:port")
    return value


HostAndPort = Annotated[str, AfterValidator(_host_and_port)]


def one_of(*choices: str) -> Callable[[str], str]:
    """A validator for a word out of `choices`, in any case ("GRPC" reads as "grpc")."""

    def check(value: str) -> str:
        if value.lower() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value.lower()

    return check


class InvalidSetting(ValueError):
    """A config value a service cannot run with; the message names the service and the key."""


class ServiceSettings(BaseModel):
    model_config = ConfigDict(
        alias_generator=str.upper,
        validate_by_name=True,  # so that code and tests can build a model by attribute name
        extra="ignore",  # config.yaml also holds Nameko's own keys (AMQP_URI, LOGGING...)
        frozen=True,
        # YAML has already typed every value: "abc" or `true` where a number belongs is a
        # mistake to report, not something to coerce.
        strict=True,
    )

    # The service whose config.yaml this describes: named in errors, read by from_config_file().
    service: ClassVar[str] = "service"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], service: str | None = None) -> Self:
        """The settings in `config`, or `InvalidSetting` naming every bad or missing key."""
        try:
            return cls.model_validate(dict(config))
        except ValidationError as exc:
            problems = "; ".join(_describe(cls, error) for error in exc.errors())
            raise InvalidSetting(f"{service or cls.service} config: {problems}") from None

    @classmethod
    def from_config_file(cls) -> Self:
        """The settings in `<service>/config.yaml`, for a process not started by `nameko run`."""
        return cls.from_config(service_config(cls.service))


def settings_for(container: Any, model: type[Model]) -> Model:
    """The container's config as `model`: validated the first time any extension of the container
    asks, then the same object for every other one (a container's config never changes)."""
    # Kept on the container itself, so that it lives and dies with it. Extensions hold their
    # container through a weakref.proxy, which can be neither hashed nor weakly referenced, but
    # whose attributes are the container's.
    per_model = container.__dict__.setdefault("_validated_settings", {})
    if model not in per_model:
        # A mock container in a unit test may have no name: the model's then names the service.
        name = getattr(container, "service_name", None)
        per_model[model] = model.from_config(
            container.config, name if isinstance(name, str) else None
        )
    return per_model[model]  # type: ignore[return-value]


class Settings(DependencyProvider):
    """`settings = Settings(BrokerSettings)`: checked when the container starts (a bad value
    stops it there), then the same read-only object for every worker."""

    def __init__(self, model: type[ServiceSettings]) -> None:
        self.model = model

    def setup(self) -> None:
        self.settings = settings_for(self.container, self.model)

    def get_dependency(self, worker_ctx: Any) -> ServiceSettings:
        return self.settings


@cache
def single_setting(key: str, annotation: Any) -> type[ServiceSettings]:
    """A model of the one key `key`, its value in `.value`: for a shared extension that a service
    tells which key to read, e.g. `TimeoutRpcProxy("auth", timeout_key="AUTH_RPC_TIMEOUT")`."""
    return create_model(
        f"{key}Setting", __base__=ServiceSettings, value=(annotation, Field(alias=key))
    )


# How a pydantic error reads in a start-up message, by error type.
_PROBLEMS = {
    "missing": "is missing",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "string_too_short": "must not be empty",
    "model_type": "must be a mapping",
    "extra_forbidden": "is not a setting here",
}


def _bound(error: Any) -> str | None:
    context = error.get("ctx") or {}
    if error["type"] == "greater_than_equal":
        return "must not be negative" if context["ge"] == 0 else f"must be at least {context['ge']}"
    if error["type"] == "greater_than":
        return "must be above zero" if context["gt"] == 0 else f"must be above {context['gt']}"
    if error["type"] == "less_than_equal":
        return f"must be at most {context['le']}"
    if error["type"] == "value_error":
        return str(context["error"])
    return None


def _describe(model: type[ServiceSettings], error: Any) -> str:
    """`KEY problem, got value` (the value left out when missing or secret)."""
    key = ".".join(str(part) for part in error["loc"])
    problem = (
        _PROBLEMS.get(error["type"])
        or _bound(error)
        or error["msg"].replace("Input should be", "must be", 1)
    )
    if not error["loc"]:  # a check across keys (a model validator): its message names them
        return problem  # and its input is the whole config, secrets included: never shown
    fields = {field.alias: field for field in model.model_fields.values()}
    field = fields.get(error["loc"][0]) if error["loc"] else None
    shown = error["type"] != "missing" and (field is None or field.repr)
    return f"{key} {problem}, got {error['input']!r}" if shown else f"{key} {problem}"
