"""`make run` under supervisord (scripts/supervise.py), with real processes on free ports, this
test's RabbitMQ vhost and databases.

- Each service SIGKILLed in turn under light load comes back by itself within seconds (its port
  answers, or its queue has a consumer again), and the others never stop answering.
- A service that cannot work exits non-zero and is retried with backoff while the others run;
  SIGTERM to supervisord stops everything within 10 s, leaving no process, pid file or socket.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from amqp.exceptions import NotFound
from kombu import Connection

from common.log_topology import LISTENER_QUEUE_NAME
from testing.infrastructure import MONGO_URI, SMTP_HOST, SMTP_PORT
from testing.ports import free_port, port_answers
from testing.supervised import ROOT, Supervised, procfile, supervised_system
from testing.waiting import wait_until

PROGRAMS = ["broker", "auth", "logger", "logger_grpc", "listener", "mailer", "gateway_ui"]
START_SECONDS = 120  # seven Python processes importing at once on a loaded two-core machine
BACK_SECONDS = 45  # a bound for one service's restart, not its typical time (a few seconds)
STOP_SECONDS = 10  # what `make run` promises for Ctrl-C


@pytest.fixture
def short_state() -> Iterator[Path]:
    """supervisord's state directory: short, since it holds a Unix socket (108 bytes at most)."""
    with tempfile.TemporaryDirectory(prefix="sv-") as directory:
        yield Path(directory)


@pytest.fixture
def ports() -> dict[str, int]:
    return {name: free_port() for name in ("broker", "page", "xmlrpc", "grpc")}


@pytest.fixture
def system_env(rabbit_config, users_db_uri, mongo_database, maildev, ports) -> dict[str, str]:
    return {
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "DATABASE_URI": users_db_uri,
        "MONGO_URI": MONGO_URI,
        "MONGO_DATABASE": mongo_database,
        "MAIL_HOST": SMTP_HOST,
        "MAIL_PORT": str(SMTP_PORT),
        "BROKER_ADDRESS": f"127.0.0.1:{ports['broker']}",
        "GATEWAY_UI_ADDRESS": f"127.0.0.1:{ports['page']}",
        "BROKER_URL": f"http://127.0.0.1:{ports['broker']}",
        "MAIL_UI_URL": maildev,
        "LOGGER_XMLRPC_ADDRESS": f"127.0.0.1:{ports['xmlrpc']}",
        "LOGGER_XMLRPC_URL": f"http://127.0.0.1:{ports['xmlrpc']}/",
        "LOGGER_GRPC_ADDRESS": f"127.0.0.1:{ports['grpc']}",
        "LOGGER_GRPC_TARGET": f"127.0.0.1:{ports['grpc']}",
        # Every program reads this one environment: a setting that each reads under the same
        # name (a metrics port) gets port 0, so that each binds a port of its own.
        "METRICS_ADDRESS": "127.0.0.1:0",
        "GRPC_METRICS_ADDRESS": "127.0.0.1:0",
    }


def answers_ping(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/ping", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    return check


def consumed(amqp_uri: str, queue: str) -> Callable[[], bool]:
    """Whether some process consumes `queue` (a passive declare: AMQP's answer, without delay)."""

    def check() -> bool:
        try:
            with Connection(amqp_uri, connect_timeout=3) as connection:
                return connection.default_channel.queue_declare(queue, passive=True)[2] > 0
        except (NotFound, OSError):
            return False

    return check


def listening(port: int) -> Callable[[], bool]:
    return lambda: port_answers(port)


def probes(amqp_uri: str, ports: dict[str, int]) -> dict[str, Callable[[], bool]]:
    """How to tell, from outside, that each program works."""
    return {
        "broker": answers_ping(ports["broker"]),
        "auth": consumed(amqp_uri, "rpc-auth"),
        "logger": lambda: consumed(amqp_uri, "rpc-logger")() and port_answers(ports["xmlrpc"]),
        "logger_grpc": listening(ports["grpc"]),
        "listener": consumed(amqp_uri, LISTENER_QUEUE_NAME),
        "mailer": consumed(amqp_uri, "rpc-mailer"),
        "gateway_ui": answers_ping(ports["page"]),
    }


class Watch(threading.Thread):
    """Checks every probe in a loop, and posts a log event through the broker every 50 ms (the
    light load), until stopped; keeps each failure with its time."""

    def __init__(self, checks: dict[str, Callable[[], bool]], broker_port: int) -> None:
        super().__init__(daemon=True)
        self.checks = checks
        self.url = f"http://127.0.0.1:{broker_port}/log-rabbit"
        self.failures: list[tuple[float, str]] = []
        self.posts: list[tuple[float, int]] = []  # (time, status; 0 for no answer)
        self.accepted: list[str] = []  # the data of every event answered 202
        self.running = True

    def run(self) -> None:
        while self.running:
            for name, check in self.checks.items():
                if not check():
                    self.failures.append((time.monotonic(), name))
            data = f"light load {len(self.posts)}"
            try:
                body = {"log": {"name": "supervision", "data": data}}
                status = requests.post(self.url, json=body, timeout=5).status_code
            except requests.RequestException:
                status = 0
            self.posts.append((time.monotonic(), status))
            if status == 202:
                self.accepted.append(data)
            time.sleep(0.05)

    def stop(self) -> None:
        self.running = False
        self.join(timeout=30)


def wait_all_up(system: Supervised, checks: dict[str, Callable[[], bool]]) -> None:
    for name, check in checks.items():
        wait_until(check, f"{name} to work\n{system.output()[-3000:]}", timeout=START_SECONDS)


@pytest.mark.timeout(600)
def test_each_service_killed_in_turn_is_back_within_seconds_and_the_others_keep_answering(
    system_env, ports, short_state, logs
):
    checks = probes(system_env["AMQP_URI"], ports)
    with supervised_system(system_env, short_state) as system:
        wait_all_up(system, checks)
        watch = Watch(checks, ports["broker"])
        watch.start()
        try:
            back_after = {}
            for program in PROGRAMS:
                old_pid = system.pid(program)
                assert old_pid, system.ctl("status")
                killed_at = time.monotonic()
                os.kill(old_pid, signal.SIGKILL)
                wait_until(
                    lambda p=program, old=old_pid: system.pid(p) not in (0, old),
                    f"supervisord to start {program} again",
                    timeout=BACK_SECONDS,
                    interval=0.2,
                )
                wait_until(
                    checks[program],
                    f"{program} to work again\n{system.output()[-3000:]}",
                    timeout=BACK_SECONDS,
                    interval=0.1,
                )
                back_at = time.monotonic()
                back_after[program] = round(back_at - killed_at, 1)
                others = [
                    name
                    for when, name in watch.failures
                    if killed_at <= when <= back_at and name != program
                ]
                assert others == [], f"{others} stopped answering while {program} was down"
                if program != "broker":
                    refused = [s for when, s in watch.posts if killed_at <= when and s != 202]
                    assert refused == [], f"log events refused while {program} was down"
        finally:
            watch.stop()
        output = system.output()
        assert "exited: listener (terminated by SIGKILL; not expected)" in output
        # Each program's lines behind its name, as honcho printed them.
        for program in PROGRAMS:
            assert re.search(rf"^{program} +\| \S", output, re.MULTILINE), program
        assert system.process.poll() is None

        # Nothing accepted is lost (what was in flight at a kill is redelivered or retried), and
        # nothing is stored twice.
        def stored() -> list[str]:
            return [entry["data"] for entry in logs.find({"name": "supervision"}, {"data": 1})]

        wait_until(
            lambda: set(watch.accepted) <= set(stored()),
            "every accepted event to be stored",
            timeout=BACK_SECONDS + 60,  # the listener's retries back off 1, 2, 4... s
            interval=0.5,
        )
        copies = stored()
        print(  # noqa: T201
            f"back after SIGKILL (s): {back_after}; {len(watch.accepted)} events accepted, "
            f"all stored, {len(copies) - len(set(copies))} stored twice"
        )
        assert len(watch.accepted) > 50
        assert sorted(copies) == sorted(set(copies))  # exactly once: the event id is the _id


@pytest.mark.timeout(600)
def test_a_service_that_cannot_start_is_retried_while_the_others_run_and_sigterm_stops_all(
    system_env, ports, short_state
):
    """The gRPC server's port is taken: it exits 1 at every start and supervisord backs it off,
    the others serve; once the port is free it starts by itself. Then SIGTERM stops all."""
    checks = probes(system_env["AMQP_URI"], ports)
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", ports["grpc"]))
    squatter.listen()
    with supervised_system(system_env, short_state) as system:
        try:
            for name, check in checks.items():
                if name != "logger_grpc":
                    wait_until(check, f"{name} to work", timeout=START_SECONDS, interval=0.2)
            wait_until(
                lambda: system.output().count("exited: logger_grpc (exit status 1") >= 2,
                "the gRPC server to fail twice on its taken port",
                timeout=START_SECONDS,
                interval=0.5,
            )
            assert "FATAL" not in system.ctl("status")
        finally:
            squatter.close()
        wait_until(
            checks["logger_grpc"],
            f"the gRPC server to start once its port is free\n{system.output()[-3000:]}",
            timeout=BACK_SECONDS + 60,  # its backoff grows by 1 s per attempt
            interval=0.2,
        )
        assert system.pid_file.exists() and system.socket.exists()
        running = system.processes()
        assert len(running) == len(PROGRAMS) + 1  # and the log printer

        took = system.stop(signal.SIGTERM)
        print(f"stopped by SIGTERM in {took:.1f} s")  # noqa: T201

        assert system.process.returncode == 0
        assert took < STOP_SECONDS, f"stopping took {took:.1f} s\n{system.output()[-3000:]}"
        assert [p.pid for p in running if p.is_running() and p.status() != "zombie"] == []
        assert not system.pid_file.exists()
        assert not system.socket.exists()
        for name, check in checks.items():
            assert not check(), f"{name} still answers"


# program, the setting that breaks it (PORT: a port this test holds), what it says before exiting.
CANNOT_WORK = [
    ("broker", {"MAX_BODY_BYTES": "abc"}, "WEB_SERVER_LIMITS.MAX_BODY_BYTES"),
    ("broker", {"BROKER_ADDRESS": "PORT"}, "Address already in use"),
    ("auth", {"BCRYPT_CONCURRENCY": "abc"}, "BCRYPT_CONCURRENCY must be an integer"),
    ("logger", {"LOGGER_XMLRPC_ADDRESS": "PORT"}, "Address already in use"),
    ("logger_grpc", {"LOGGER_GRPC_ADDRESS": "PORT"}, "Failed to bind"),
    ("listener", {"LISTENER_BATCH_MAX_SIZE": "abc"}, "BATCH_MAX_SIZE must be an integer"),
    ("mailer", {"MAIL_PORT": "abc"}, "MAIL_PORT must be an integer"),
    ("gateway_ui", {"GATEWAY_UI_ADDRESS": "PORT"}, "Address already in use"),
]


@pytest.mark.parametrize(
    ("program", "settings", "says"), CANNOT_WORK, ids=[f"{c[0]}-{c[2][:20]}" for c in CANNOT_WORK]
)
def test_a_service_that_cannot_work_exits_non_zero(
    rabbit_config, mongo_database, tmp_path, program, settings, says
):
    """Never half-alive: supervisord, compose and Kubernetes restart only what exits. (`nameko
    run` exits 0 after printing a Nameko ConfigurationError: the services raise InvalidSetting.)"""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONWARNINGS": "ignore",
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "MONGO_URI": MONGO_URI,
        "MONGO_DATABASE": mongo_database,
        "BROKER_ADDRESS": f"127.0.0.1:{free_port()}",
        "GATEWAY_UI_ADDRESS": f"127.0.0.1:{free_port()}",
        "LOGGER_XMLRPC_ADDRESS": f"127.0.0.1:{free_port()}",
        "LOGGER_GRPC_ADDRESS": f"127.0.0.1:{free_port()}",
        "METRICS_ADDRESS": "127.0.0.1:0",
        "GRPC_METRICS_ADDRESS": "127.0.0.1:0",
        **{key: f"127.0.0.1:{port}" if v == "PORT" else v for key, v in settings.items()},
    }
    command = procfile()[program].split()
    command[0] = str(Path(sys.executable).parent / command[0])
    log = tmp_path / "output.log"
    try:
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            )
            try:
                returncode = process.wait(timeout=90)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    finally:
        held.close()
    assert returncode != 0, log.read_text()
    assert says in log.read_text()
