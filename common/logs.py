"""How every process of the system writes its log: one line per record on stderr, one format.

Each config.yaml keeps Nameko's `LOGGING` key (`nameko run` hands it to `logging.config.dictConfig`)
as a short stanza whose handler is `console_handler` below (`"()": common.logs.console_handler`),
so the format is written once, here, while the levels stay in config.yaml (`LOG_LEVEL`, and the
broker's `ACCESS_LOG_LEVEL`). Processes that `nameko run` does not start (the gRPC server, CLI
commands) apply the same stanza with `configure()`.
"""

from __future__ import annotations

import copy
import logging
import logging.config
from collections.abc import Mapping
from typing import Any

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def formatter() -> logging.Formatter:
    """The one place that decides what a log line looks like.

    Another shape (JSON lines, say, chosen by a LOG_FORMAT setting) is another branch here.
    """
    return logging.Formatter(PLAIN_FORMAT)


def console_handler() -> logging.Handler:
    """The handler factory that every LOGGING stanza names: stderr, in the system's format."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter())
    return handler


def configure(config: Mapping[str, Any]) -> None:
    """Apply a service config's LOGGING stanza, as `nameko run` does (dictConfig consumes the
    dict it is given: it gets a copy)."""
    logging.config.dictConfig(copy.deepcopy(config["LOGGING"]))
