"""The HTTP core's bounds: the connection cap, slow clients never holding workers, a stop that
finishes whatever clients do, and settings checked at start."""

import socket
import time

import eventlet
import pytest
import requests
from nameko.exceptions import IncorrectSignature

from common.settings import InvalidSetting
from common.web.entrypoint import http
from common.web.server import HttpServer
from common.web.tests.sample_service import LIMITS, Gate, SampleService
from testing.raw_http import RawClient, get, post


def server_of(container) -> HttpServer:
    [server] = [ext for ext in container.subextensions if isinstance(ext, HttpServer)]
    return server


def test_past_the_connection_cap_a_new_connection_gets_503(sample):
    port = sample(MAX_CONNECTIONS=5, HEADER_TIMEOUT=10).port
    held = [RawClient(port) for _ in range(5)]
    for client in held:
        client.send(b"GET /ping HTTP/1.1\r\n")  # half a request: held open

    refused = RawClient(port)
    refused.send(get())
    response = refused.response()

    assert response.status == 503
    assert response.json() == {
        "error": True,
        "message": "too many open connections, try again later",
    }
    assert response.headers["connection"] == "close"
    assert refused.closed_by_server()
    held[0].close()
    eventlet.sleep(0.1)
    assert requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code == 200


def test_slow_clients_never_hold_the_workers(sample):
    port = sample(max_workers=1, BODY_TIMEOUT=10).port
    slow = [RawClient(port) for _ in range(10)]
    for client in slow:
        client.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")

    started = time.monotonic()
    for _ in range(5):
        assert requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code == 200
    assert time.monotonic() - started < 1


def test_a_stop_drops_waiting_connections_and_lets_answers_finish(sample):
    container = sample(HEADER_TIMEOUT=30, IDLE_TIMEOUT=30)
    port = container.port
    busy, idle, reading = RawClient(port), RawClient(port), RawClient(port)
    idle.send(get())
    assert idle.response().status == 200
    reading.send(b"POST /echo HTTP/1.1\r\nHost: t\r\n")
    busy.send(get("/wait"))
    while not Gate.entered:
        eventlet.sleep(0.01)

    stopping = eventlet.spawn(container.stop)
    eventlet.sleep(0.2)

    assert idle.closed_by_server()
    assert reading.closed_by_server()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    assert not stopping.dead, "the request that reached a worker is waited for"
    Gate.event.send()
    response = busy.response()
    assert (response.status, response.headers["connection"]) == (200, "close")
    stopping.wait()


def test_a_stop_with_many_slow_clients_finishes_at_once(sample):
    container = sample(MAX_CONNECTIONS=200, HEADER_TIMEOUT=30, BODY_TIMEOUT=30)
    clients = [RawClient(container.port) for _ in range(100)]
    for number, client in enumerate(clients):
        if number % 2:
            client.send(b"GET /ping HTTP/1.1\r\nHost: t\r\n")
        else:
            client.send(post("/echo", b"x" * 500)[:-400])
    eventlet.sleep(0.2)

    started = time.monotonic()
    container.stop()

    assert time.monotonic() - started < LIMITS["STOP_GRACE"]
    assert all(client.closed_by_server() for client in clients)


def test_observers_see_every_request_the_refused_ones_too(sample):
    container = sample()
    records = []
    server_of(container).observe(records.append)
    client = RawClient(container.port)
    client.send(get("/items/3") + b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 9999\r\n\r\n")
    client.response()
    client.response()
    client.close()
    eventlet.sleep(0.1)

    assert [(r.method, r.path, r.status) for r in records] == [
        ("GET", "/items/3", 200),
        ("GET", "/", 413),
    ]
    assert records[0].request.path == "/items/3"
    assert all(0 <= r.duration < 1 and r.peer == "127.0.0.1" for r in records)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"WEB_SERVER_LIMITS": None}, "sample config: WEB_SERVER_LIMITS must be a mapping"),
        (
            {"WEB_SERVER_LIMITS": {**LIMITS, "HEADER_TIMEOUT": "soon"}},
            "sample config: WEB_SERVER_LIMITS.HEADER_TIMEOUT must be a number, got 'soon'",
        ),
        (
            {"WEB_SERVER_LIMITS": {**LIMITS, "MAX_CONNECTIONS": 0}},
            "WEB_SERVER_LIMITS.MAX_CONNECTIONS must be above zero, got 0",
        ),
        (
            {"WEB_SERVER_LIMITS": {k: v for k, v in LIMITS.items() if k != "STOP_GRACE"}},
            "sample config: WEB_SERVER_LIMITS.STOP_GRACE is missing",
        ),
        (
            {"WEB_SERVER_LIMITS": {**LIMITS, "HEADER_TIMOUT": 1}},
            "WEB_SERVER_LIMITS.HEADER_TIMOUT is not a setting here",
        ),
        ({"WEB_SERVER_ADDRESS": "nowhere"}, "WEB_SERVER_ADDRESS must be host:port, got 'nowhere'"),
    ],
)
def test_bad_settings_stop_the_start_naming_the_key(container_factory, config, message):
    base = {"WEB_SERVER_ADDRESS": "127.0.0.1:0", "WEB_SERVER_LIMITS": LIMITS}
    container = container_factory(SampleService, {**base, **config})

    with pytest.raises(InvalidSetting, match=message.replace("`", ".")):
        container.start()


class WrongSignature:
    name = "wrong"

    @http("GET", "/items/<int:number>")
    def item(self, request):  # no `number`
        return "never"


def test_a_method_that_cannot_take_its_path_variables_stops_the_start(container_factory):
    config = {"WEB_SERVER_ADDRESS": "127.0.0.1:0", "WEB_SERVER_LIMITS": LIMITS}
    container = container_factory(WrongSignature, config)

    with pytest.raises(IncorrectSignature):
        container.start()
