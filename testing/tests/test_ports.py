"""free_port and wait_for_port, against real sockets and processes."""

import socket
import subprocess
import sys

import pytest

from testing.ports import ProcessExited, free_port, port_answers, wait_for_port

LISTEN_LATE = """
import socket, sys, time
time.sleep(0.3)
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
time.sleep(30)
"""


@pytest.fixture
def python():
    """Starts `python -c CODE ARGS...`; killed afterwards."""
    started = []

    def start(code: str, *args: str) -> subprocess.Popen:
        started.append(subprocess.Popen([sys.executable, "-c", code, *args]))
        return started[-1]

    yield start
    for process in started:
        process.kill()
        process.wait()


def test_a_free_port_can_be_bound_and_nothing_answers_there():
    port = free_port()
    assert not port_answers(port)
    with socket.create_server(("127.0.0.1", port)):
        assert port_answers(port)


def test_waits_for_a_listener_and_times_out_without_one():
    with socket.create_server(("127.0.0.1", 0)) as server:
        wait_for_port(server.getsockname()[1], 1)
    with pytest.raises(TimeoutError, match=r"nothing listens on 127\.0\.0\.1:"):
        wait_for_port(free_port(), 0.2)


def test_waits_for_the_process_itself_to_listen(python):
    port = free_port()
    process = python(LISTEN_LATE, str(port))
    wait_for_port(port, 10, process=process)
    assert port_answers(port)


def test_another_listener_on_the_port_does_not_count_for_the_process(python):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        process = python("import time; time.sleep(30)")
        with pytest.raises(TimeoutError):
            wait_for_port(port, 0.5, process=process)


def test_a_process_that_exits_first_is_reported_at_once(python):
    process = python("raise SystemExit(3)")
    with pytest.raises(ProcessExited, match=r"exited \(3\)"):
        wait_for_port(free_port(), 10, process=process)
