"""A small service on the HTTP core, with tight limits, for the core's own tests."""

from __future__ import annotations

import eventlet
from werkzeug.wrappers import Request, Response

from common.envelope import json_response
from common.web.entrypoint import http

LIMITS = {
    "MAX_CONNECTIONS": 20,
    "HEADER_TIMEOUT": 1,
    "BODY_TIMEOUT": 1,
    "IDLE_TIMEOUT": 1,
    "WRITE_TIMEOUT": 2,
    "MAX_HEADER_BYTES": 2048,
    "MAX_URL_BYTES": 512,
    "MAX_BODY_BYTES": 1024,
    "LINGER_BYTES": 4 * 1024 * 1024,
    "LINGER_TIMEOUT": 3,
    "STOP_GRACE": 1,
}


class Gate:
    """`/wait` requests block until the test opens the gate."""

    event = eventlet.event.Event()
    entered = 0


class SampleService:
    name = "sample"

    @http("GET", "/ping")
    def ping(self, request: Request) -> Response:
        return json_response(200, "pong")

    @http("POST", "/echo")
    def echo(self, request: Request) -> Response:
        body = request.get_data()
        return json_response(200, "echo", data={"body": body.decode(), "length": len(body)})

    @http("GET", "/items/<int:number>")
    def item(self, request: Request, number: int) -> Response:
        return json_response(200, f"item {number}")

    @http("GET", "/wait")
    def wait(self, request: Request) -> Response:
        Gate.entered += 1
        Gate.event.wait()
        return json_response(200, "waited")

    @http("GET", "/boom")
    def boom(self, request: Request) -> Response:
        raise RuntimeError("secret internals at /srv/app.py")
