"""How every process of the system writes its log: one line per record on stderr, one format.

Each config.yaml keeps Nameko's `LOGGING` key (`nameko run` hands it to `logging.config.dictConfig`)
as a short stanza whose handler is `console_handler` below (`"()": common.logs.console_handler`),
so the format is written once, here, while the levels stay in config.yaml (`LOG_LEVEL`, and the
broker's `ACCESS_LOG_LEVEL` and `CALL_LOG_LEVEL`). Processes that `nameko run` does not start (the
gRPC server, CLI commands) apply the same stanza with `configure()`.

Two formats, chosen by `LOG_FORMAT` (the handler's `format` in config.yaml):
- `text` (the default): `<time> <LEVEL> <logger> [<request id>]: <message>`, readable in a
  terminal;
- `json`: one JSON object per line (python-json-logger): `time` (ISO 8601, UTC), `level`,
  `service`, `logger`, `request_id`, `entrypoint`, `message`, plus `outcome` and `duration_ms`
  on the one record per entrypoint call (common/tracing.py) and `exc_info` with a traceback.
Every line carries the request id of the worker that wrote it (common/request_ids.py; "-" outside
a worker).
"""

from __future__ import annotations

import copy
import logging
import logging.config
from collections.abc import Mapping
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from common.request_ids import RequestIdFilter

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ("levelname", "name", "request_id", "entrypoint", "message")
JSON_NAMES = {"levelname": "level", "name": "logger"}
FORMATS = ("text", "json")


def formatter(format: str = "text", service: str = "") -> logging.Formatter:
    """The one place that decides what a log line looks like."""
    if format.lower() == "json":
        return JsonFormatter(
            list(JSON_FIELDS),
            rename_fields=JSON_NAMES,
            static_fields={"service": service} if service else None,
            timestamp="time",
            json_ensure_ascii=False,
        )
    if format.lower() != "text":
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, got {format!r}")
    return logging.Formatter(PLAIN_FORMAT)


def console_handler(format: str = "text", service: str = "") -> logging.Handler:
    """The handler factory that every LOGGING stanza names: stderr, in the system's format,
    every record stamped with its request id."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(format, service))
    handler.addFilter(RequestIdFilter())
    return handler


def configure(config: Mapping[str, Any]) -> None:
    """Apply a service config's LOGGING stanza, as `nameko run` does (dictConfig consumes the
    dict it is given: it gets a copy)."""
    logging.config.dictConfig(copy.deepcopy(config["LOGGING"]))
