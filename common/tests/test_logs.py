"""One logging definition for every process: the LOGGING stanzas name common/logs.py's handler."""

import io
import json
import logging
import os
import subprocess
import sys
from datetime import datetime

import pytest

from common import request_ids
from common.config import ROOT, service_config
from common.logs import PLAIN_FORMAT, console_handler

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

    assert logging_config["handlers"] == {
        "console": {"()": "common.logs.console_handler", "service": service, "format": "text"}
    }
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
    assert PLAIN_FORMAT == "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
    lines = run_script("logger", LOG_LEVEL="INFO")

    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO some.module [-]: an info line",
        "WARNING some.module [-]: a warning line",
    ]


def test_the_level_comes_from_the_environment():
    lines = run_script("mailer", LOG_LEVEL="WARNING")

    assert [line.split(" ", 2)[2] for line in lines] == ["WARNING some.module [-]: a warning line"]


def test_the_broker_access_log_level_is_its_own_setting(monkeypatch):
    monkeypatch.setenv("ACCESS_LOG_LEVEL", "INFO")
    monkeypatch.setenv("CALL_LOG_LEVEL", "INFO")

    loggers = service_config("broker")["LOGGING"]["loggers"]

    assert loggers == {"common.web.access": {"level": "INFO"}, "common.calls": {"level": "INFO"}}


def test_log_format_json_writes_one_object_per_line_with_the_service_and_request_id():
    lines = run_script("listener", LOG_LEVEL="INFO", LOG_FORMAT="json")

    records = [json.loads(line) for line in lines]
    assert [(r["level"], r["message"]) for r in records] == [
        ("INFO", "an info line"),
        ("WARNING", "a warning line"),
    ]
    for record in records:
        assert record["service"] == "listener"
        assert record["logger"] == "some.module"
        assert record["request_id"] == "-"
        assert datetime.fromisoformat(record["time"]).tzinfo is not None


def test_an_unknown_log_format_stops_the_process():
    with pytest.raises(subprocess.CalledProcessError) as failed:
        run_script("listener", LOG_FORMAT="xml")

    assert "LOG_FORMAT must be one of text, json" in failed.value.stderr


def test_a_record_carries_the_current_request_id():
    stream = io.StringIO()
    handler = console_handler("json", "broker")
    handler.stream = stream
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    token = request_ids.current.set("abc-123")
    try:
        handler.handle(record)
    finally:
        request_ids.current.reset(token)

    line = json.loads(stream.getvalue())
    assert (line["request_id"], line["message"], line["service"]) == (
        "abc-123",
        "hello you",
        "broker",
    )
