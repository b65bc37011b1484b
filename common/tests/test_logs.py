"""One logging definition for every process: the LOGGING stanzas name common/logs.py's handler."""

import os
import subprocess
import sys

import pytest

from common.config import ROOT, service_config
from common.logs import PLAIN_FORMAT

SERVICES = ("broker", "auth", "logger", "listener", "mailer", "gateway_ui")

# Applies a service's LOGGING stanza the way the gRPC server does, then logs at two levels.
SCRIPT = """
import logging, sys
from common.config import service_config
from common.logs import configure
configure(service_config(sys.argv[1]))
logging.getLogger("some.module").info("an info line")
logging.getLogger("some.module").warning("a warning line")
"""


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_uses_the_shared_handler_and_has_no_format_of_its_own(service):
    logging_config = service_config(service)["LOGGING"]

    assert logging_config["handlers"] == {"console": {"()": "common.logs.console_handler"}}
    assert "formatters" not in logging_config
    assert logging_config["disable_existing_loggers"] is False
    assert logging_config["root"]["handlers"] == ["console"]


def run_script(service: str, **env: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, service],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stderr.splitlines()


def test_a_line_has_the_shared_format():
    assert PLAIN_FORMAT == "%(asctime)s %(levelname)s %(name)s: %(message)s"
    lines = run_script("logger", LOG_LEVEL="INFO")

    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO some.module: an info line",
        "WARNING some.module: a warning line",
    ]


def test_the_level_comes_from_the_environment():
    lines = run_script("mailer", LOG_LEVEL="WARNING")

    assert [line.split(" ", 2)[2] for line in lines] == ["WARNING some.module: a warning line"]


def test_the_broker_access_log_level_is_its_own_setting(monkeypatch):
    monkeypatch.setenv("ACCESS_LOG_LEVEL", "INFO")

    loggers = service_config("broker")["LOGGING"]["loggers"]

    assert loggers == {"common.web.access": {"level": "INFO"}}
