"""One request id from the HTTP door through RPC and events, in every log line; one record per
entrypoint call; expected errors without traceback. Real RabbitMQ (a test vhost)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import eventlet
import pytest
import requests
from werkzeug.wrappers import Request, Response

from common import metrics, request_ids
from common.envelope import json_response
from common.errors import DownstreamUnavailable, InvalidInput
from common.event_dispatcher import PatientEventDispatcher
from common.event_handlers import event_handler
from common.logs import console_handler
from common.rpc import rpc
from common.rpc_proxy import TimeoutRpcProxy
from common.tracing import CallTracer
from common.web.entrypoint import http
from common.web.tests.sample_service import LIMITS
from testing.ports import free_port

log = logging.getLogger("tracing.sample")
seen_by_events: eventlet.queue.LightQueue = eventlet.queue.LightQueue()


class Back:
    name = "back"

    tracer = CallTracer()
    dispatch = PatientEventDispatcher()

    @rpc
    def echo(self, value: str) -> str:
        log.info("back got %s", value)
        self.dispatch("echoed", {"value": value})
        return request_ids.current.get()

    @rpc
    def fail(self, kind: str) -> None:
        if kind == "expected":
            raise DownstreamUnavailable("smtp did not answer")
        raise KeyError("a bug")


class Watcher:
    name = "watcher"

    tracer = CallTracer()

    @event_handler("back", "echoed")
    def on_echoed(self, payload: dict[str, Any]) -> None:
        log.info("watcher saw %s", payload["value"])
        seen_by_events.put(request_ids.current.get())


class Front:
    name = "front"

    tracer = CallTracer()
    back = TimeoutRpcProxy("back", timeout_key="BACK_RPC_TIMEOUT")

    @http("GET", "/echo")
    def echo(self, request: Request) -> Response:
        log.info("front asks back")
        return json_response(200, "echoed", data=self.back.echo("hi"))

    @http("GET", "/bad")
    def bad(self, request: Request) -> Response:
        raise InvalidInput("limit must be a number")

    @http("GET", "/boom")
    def boom(self, request: Request) -> Response:
        raise RuntimeError("an internal failure")

    @http("GET", "/downstream/<kind>")
    def downstream(self, request: Request, kind: str) -> Response:
        self.back.fail(kind)
        return json_response(200, "never")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """Every log line written meanwhile, in the JSON format, through the services' handler."""
    stream = io.StringIO()
    handler = console_handler("json", "test")
    handler.stream = stream
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def records(lines: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.getvalue().splitlines()]


@pytest.fixture
def front(container_factory, rabbit_config) -> str:
    while not seen_by_events.empty():
        seen_by_events.get()
    for service in (Back, Watcher):
        container_factory(service, rabbit_config).start()
    port = free_port()
    config = {
        **rabbit_config,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "WEB_SERVER_LIMITS": LIMITS,
        "BACK_RPC_TIMEOUT": 5.0,
    }
    container_factory(Front, config).start()
    return f"http://127.0.0.1:{port}"


def test_a_client_request_id_travels_through_rpc_and_events_into_every_log_line(front, lines):
    response = requests.get(f"{front}/echo", headers={"X-Request-ID": "trace-me-42"}, timeout=10)

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "trace-me-42"
    assert response.json()["data"] == "trace-me-42"  # the id the back service's worker saw
    assert seen_by_events.get(timeout=10) == "trace-me-42"
    eventlet.sleep(0.2)  # the watcher's record follows its return
    lines_of_request = [r for r in records(lines) if r["request_id"] == "trace-me-42"]
    messages = {r["message"] for r in lines_of_request}
    assert {"front asks back", "back got hi", "watcher saw hi"} <= messages
    calls = {r["entrypoint"] for r in lines_of_request if r["logger"] == "common.calls"}
    assert calls == {"echo", "on_echoed"}
    outcomes = [(r["message"].split()[0], r["outcome"]) for r in lines_of_request if "outcome" in r]
    assert sorted(outcomes) == [
        ("back.echo", "ok"),
        ("front.echo", "ok"),
        ("watcher.on_echoed", "ok"),
    ]
    assert all(r["duration_ms"] >= 0 for r in lines_of_request if "outcome" in r)


@pytest.mark.parametrize(
    "sent",
    ["", "x" * 129, "bad\x01id", "two words", "é"],
    ids=["empty", "too-long", "control", "space", "non-ascii"],
)
def test_a_missing_or_invalid_request_id_is_replaced_not_echoed(front, sent):
    headers = {"X-Request-ID": sent.encode("utf-8")} if sent else {}

    response = requests.get(f"{front}/echo", headers=headers, timeout=10)

    returned = response.headers["X-Request-ID"]
    assert returned != sent.encode("utf-8").decode("latin-1")
    assert len(returned) == 32 and int(returned, 16) >= 0
    if response.status_code == 200:  # a control character is refused by the parser (400)
        assert response.json()["data"] == returned


def test_the_servers_own_answers_carry_a_request_id(front):
    response = requests.get(f"{front}/nowhere", timeout=10)

    assert response.status_code == 404
    assert len(response.headers["X-Request-ID"]) == 32


def test_an_expected_error_is_one_line_without_traceback(front, lines):
    response = requests.get(f"{front}/bad", headers={"X-Request-ID": "bad-1"}, timeout=10)

    assert response.status_code == 400
    assert response.headers["X-Request-ID"] == "bad-1"
    mine = [r for r in records(lines) if r["request_id"] == "bad-1"]
    assert [(r["level"], r["outcome"]) for r in mine] == [("INFO", "expected")]
    assert "InvalidInput: limit must be a number" in mine[0]["message"]
    assert not any("exc_info" in r or "Traceback" in json.dumps(r) for r in mine)


def test_a_downstream_expected_5xx_is_a_warning_on_both_sides(front, lines):
    response = requests.get(f"{front}/downstream/expected", headers={"X-Request-ID": "d-1"})

    assert response.status_code == 504
    mine = [r for r in records(lines) if r["request_id"] == "d-1"]
    assert sorted((r["message"].split()[0], r["level"]) for r in mine) == [
        ("back.fail", "WARNING"),
        ("front.downstream", "WARNING"),
    ]
    assert not any("exc_info" in r for r in mine)


def test_an_unexpected_error_is_logged_once_at_error_with_its_traceback(front, lines):
    response = requests.get(f"{front}/boom", headers={"X-Request-ID": "boom-1"}, timeout=10)

    assert response.status_code == 500
    assert response.json()["message"] == "internal error"
    eventlet.sleep(0.1)
    mine = [r for r in records(lines) if r["request_id"] == "boom-1"]
    assert [(r["level"], r.get("outcome")) for r in mine] == [("ERROR", "error")]
    assert "RuntimeError: an internal failure" in mine[0]["exc_info"]
    assert "Traceback" in mine[0]["exc_info"]


def sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_each_call_counts_once_with_its_outcome(front):
    labels = {"service": "front", "entrypoint": "bad", "outcome": "expected"}
    before = sample("nameko_entrypoint_calls_total", **labels)
    before_count = sample("nameko_entrypoint_duration_seconds_count", **labels)

    for _ in range(3):
        assert requests.get(f"{front}/bad", timeout=10).status_code == 400

    assert sample("nameko_entrypoint_calls_total", **labels) == before + 3
    assert sample("nameko_entrypoint_duration_seconds_count", **labels) == before_count + 3
    assert metrics.LATENCY_BUCKETS[0] == 0.001
