"""The containers' health check, `python -m common.healthcheck`, against real local sockets."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from threading import Thread

import pytest

from common.config import ROOT
from common.healthcheck import amqp_port, amqp_ports, established_remote_ports
from testing.ports import free_port


class StatusHandler(BaseHTTPRequestHandler):
    """Answers GET /ping with 200 and anything else with 503."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ping" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", free_port()), StatusHandler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def connected_port() -> Iterator[int]:
    """A port that this machine holds an established connection to, as a service holds AMQP's."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)), listener.accept()[0]:
            yield port


def healthcheck(*checks: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "common.healthcheck", *checks],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_http_check_passes_on_2xx(http_port):
    result = healthcheck("http:ADDRESS/ping", ADDRESS=f"0.0.0.0:{http_port}")
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("check", "address", "reason"),
    [
        ("http:ADDRESS/other", "127.0.0.1:{port}", "HTTP 503"),
        ("http:ADDRESS/ping", "127.0.0.1:{closed}", "Connection refused"),
        ("http:UNSET/ping", None, "UNSET is not set"),
        ("tcp:ADDRESS", "127.0.0.1:{closed}", "Connection refused"),
        ("amqp", None, "no connection to RabbitMQ"),
        ("amqp:extra", None, "unknown check"),
        ("grpc:ADDRESS", "127.0.0.1:{port}", "unknown check"),
    ],
)
def test_failing_checks_exit_1_and_say_why(http_port, check, address, reason):
    env = {"AMQP_URI": f"pyamqp://guest:guest@localhost:{free_port()}"}
    if address:
        env["ADDRESS"] = address.format(port=http_port, closed=free_port())
    result = healthcheck(check, **env)
    assert result.returncode == 1
    assert reason in result.stderr


def test_tcp_check_passes_when_the_port_accepts(http_port):
    assert healthcheck("tcp:ADDRESS", ADDRESS=f"[::]:{http_port}").returncode == 0


def test_amqp_check_passes_while_a_connection_to_the_amqp_port_is_established(connected_port):
    result = healthcheck("amqp", AMQP_URI=f"pyamqp://u:p@rabbitmq:{connected_port}/vhost")
    assert (result.returncode, result.stderr) == (0, "")


def test_every_check_must_pass(http_port):
    result = healthcheck(
        "http:ADDRESS/ping",
        "amqp",
        ADDRESS=f"127.0.0.1:{http_port}",
        AMQP_URI=f"pyamqp://localhost:{free_port()}",
    )
    assert result.returncode == 1


def test_no_check_is_a_usage_error():
    result = healthcheck()
    assert result.returncode == 2
    assert "amqp" in result.stdout


@pytest.mark.parametrize(
    ("uri", "port"),
    [
        ("pyamqp://guest:guest@localhost", 5672),
        ("amqp://rabbitmq:5673/vhost", 5673),
        ("amqps://user:secret@rabbitmq/", 5671),
    ],
)
def test_amqp_port_from_uri(uri, port):
    assert amqp_port(uri) == port


def test_amqp_ports_of_a_node_list():
    uri = "amqp://u:secret@rabbit-0:5672//;amqp://u:secret@rabbit-1:5673//; amqps://rabbit-2/"
    assert amqp_ports(uri) == {5672, 5673, 5671}


def test_established_ports_are_read_from_proc_net_tcp(tmp_path: Path):
    table = tmp_path / "tcp"
    table.write_text(
        "  sl  local_address rem_address   st ...\n"
        "   0: 0100007F:97D2 0100007F:1628 01 00000000:00000000\n"  # established to 5672
        "   1: 0100007F:97D4 0100007F:1F90 06 00000000:00000000\n"  # TIME_WAIT to 8080
        "   2: 00000000:1628 00000000:0000 0A 00000000:00000000\n"  # listening on 5672
    )
    assert established_remote_ports([table, tmp_path / "absent"]) == {5672}
