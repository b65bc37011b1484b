"""Slow and hostile clients against the broker as `nameko run` runs it, in its own process.

500 connections that send a request slowly (half stop in the headers, half in the body) must not
slow down anyone else, are cut off at their deadlines, cannot delay a graceful stop, and past the
connection cap new connections get a clear 503.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import eventlet
import pytest
import requests
import yaml

from common.config import ROOT, service_config
from testing.ports import free_port, wait_for_port
from testing.raw_http import RawClient

SLOW = 500
DEADLINE = 8  # HEADER_TIMEOUT and BODY_TIMEOUT of the broker under test (room for a busy machine)
CAP = SLOW + 10
GRACE_PERIOD = 10  # what `docker stop` gives a container before it kills it
LOG = {"log": {"name": "while-slow", "data": "d"}}


class BrokerProcess:
    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture
def broker_process(rabbit_config, tmp_path: Path) -> Iterator[BrokerProcess]:
    port = free_port()
    config = service_config("broker")
    config["AMQP_URI"] = rabbit_config["AMQP_URI"]
    config["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{port}"
    config["WEB_SERVER_LIMITS"].update(
        HEADER_TIMEOUT=DEADLINE, BODY_TIMEOUT=DEADLINE, MAX_CONNECTIONS=CAP
    )
    path = tmp_path / "broker.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "nameko", "run", "--config", str(path), "broker.service"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, seconds=30)
        yield BrokerProcess(process, port)
    finally:
        process.kill()
        process.wait()


def open_slow_connections(port: int, count: int) -> list[RawClient]:
    """Half stop in the headers, half in the body (100 bytes declared, 10 sent)."""
    clients = []
    for number in range(count):
        client = RawClient(port, timeout=DEADLINE + 10)
        if number % 2:
            client.send(b"POST /log-rabbit HTTP/1.1\r\nHost: t\r\nContent-Type: application/")
        else:
            client.send(
                b'POST /log-rabbit HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{"log": {"'
            )
        clients.append(client)
    return clients


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def test_slow_connections_hold_no_one_up_and_are_cut_off(broker_process: BrokerProcess):
    session = requests.Session()
    assert session.get(broker_process.url + "/ping", timeout=5).status_code == 200
    slow = open_slow_connections(broker_process.port, SLOW)
    opened = time.monotonic()
    eventlet.sleep(0.5)  # all accepted and waiting for more bytes: held

    pings = [
        timed(lambda: session.get(broker_process.url + "/ping", timeout=5)) for _ in range(200)
    ]
    logs = [
        timed(lambda: session.post(broker_process.url + "/log-rabbit", json=LOG)) for _ in range(20)
    ]

    assert time.monotonic() - opened < DEADLINE, "measured while the slow clients were held"
    assert {response.status_code for _, response in pings} == {200}
    assert {response.status_code for _, response in logs} == {202}
    ping_p99 = statistics.quantiles([seconds for seconds, _ in pings], n=100)[98]
    assert ping_p99 < 0.050, f"/ping p99 {ping_p99 * 1000:.1f} ms"
    log_seconds = sorted(seconds for seconds, _ in logs)
    assert statistics.median(log_seconds) < 0.050 and log_seconds[-1] < 0.5, log_seconds

    answers = [client.response() for client in slow]
    closed_after = time.monotonic() - opened
    assert {answer.status for answer in answers} == {408}
    assert answers[0].json() == {"error": True, "message": "the request was not received in time"}
    assert all(client.closed_by_server() for client in slow)
    assert DEADLINE - 1 < closed_after < DEADLINE + 5
    for client in slow:
        client.close()


def test_cap_then_a_graceful_stop_with_slow_clients_connected(broker_process: BrokerProcess):
    slow = open_slow_connections(broker_process.port, CAP)
    eventlet.sleep(0.5)  # accepted
    turned_away = RawClient(broker_process.port)
    turned_away.send(b"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
    answer = turned_away.response()
    assert answer.status == 503
    assert answer.json() == {"error": True, "message": "too many open connections, try again later"}

    started = time.monotonic()
    broker_process.process.send_signal(signal.SIGTERM)
    assert broker_process.process.wait(timeout=GRACE_PERIOD + 5) == 0
    stopped_in = time.monotonic() - started

    assert stopped_in < GRACE_PERIOD, f"stopped in {stopped_in:.1f} s"
    assert all(client.closed_by_server() for client in slow)
    for client in [*slow, turned_away]:
        client.close()
