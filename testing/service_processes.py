"""The whole system as real OS processes, one per service (the commands of `make run`), on free
ports and against the servers a test chooses: for fault tests that kill processes and restart
the servers under them.

Every process writes its output to a file of its own (`log_of`), read when a test fails. `stop`
ends them all (SIGTERM, then SIGKILL after a grace period), whatever state they are in; use the
object as a context manager so that happens even when the test fails.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from testing.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
NAMEKO = str(Path(sys.executable).with_name("nameko"))
STOP_GRACE_SECONDS = 15


def die_with_parent() -> None:
    """preexec_fn: the kernel SIGKILLs the service when the test process that started it dies
    (killed by its timeout, say): a graceful stop could wait forever for a RabbitMQ node that
    the test's teardown has already removed."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


@dataclass(frozen=True)
class Servers:
    """Where the system's infrastructure answers."""

    amqp_uri: str
    mongo_uri: str
    mongo_database: str
    database_uri: str
    smtp_host: str
    smtp_port: int


@dataclass
class ServiceProcesses:
    servers: Servers
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)  # overrides for every process
    # Which of `commands()` to start (all by default): a test that needs no mail or gRPC spares
    # the 2 cores the processes it does not use.
    services: tuple[str, ...] | None = None
    broker_port: int = field(default_factory=free_port)
    xmlrpc_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def broker_url(self) -> str:
        return f"http://127.0.0.1:{self.broker_port}"

    def commands(self) -> dict[str, list[str]]:
        def nameko(service: str) -> list[str]:
            return [NAMEKO, "run", "--config", f"{service}/config.yaml", f"{service}.service"]

        return {
            "logger": nameko("logger"),
            "logger_grpc": [sys.executable, "-m", "logger.grpc_server"],
            "auth": nameko("auth"),
            "listener": nameko("listener"),
            "mailer": nameko("mailer"),
            "broker": nameko("broker"),
        }

    def environment(self) -> dict[str, str]:
        servers = self.servers
        return {
            **os.environ,
            "AMQP_URI": servers.amqp_uri,
            "LOG_LEVEL": "INFO",
            "BROKER_ADDRESS": f"127.0.0.1:{self.broker_port}",
            "LOGGER_XMLRPC_ADDRESS": f"127.0.0.1:{self.xmlrpc_port}",
            "LOGGER_XMLRPC_URL": f"http://127.0.0.1:{self.xmlrpc_port}/",
            "LOGGER_GRPC_ADDRESS": f"127.0.0.1:{self.grpc_port}",
            "LOGGER_GRPC_TARGET": f"127.0.0.1:{self.grpc_port}",
            "MONGO_URI": servers.mongo_uri,
            "MONGO_DATABASE": servers.mongo_database,
            "DATABASE_URI": servers.database_uri,
            "MAIL_HOST": servers.smtp_host,
            "MAIL_PORT": str(servers.smtp_port),
            # The ops ports (/metrics, /health) where the kernel picks, never the fixed defaults.
            "METRICS_ADDRESS": "127.0.0.1:0",
            "GRPC_METRICS_ADDRESS": "",
            **self.env,
        }

    def __enter__(self) -> ServiceProcesses:
        try:
            self.start_all()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start_all(self) -> None:
        for name in self.services or self.commands():
            self.start(name)
        listening = {"logger": self.xmlrpc_port, "logger_grpc": self.grpc_port}
        for name, port in listening.items():
            if name in self.processes:
                wait_for_port(port, seconds=60, process=self.processes[name])
        wait_for_port(self.broker_port, seconds=60, process=self.processes["broker"])
        requests.get(f"{self.broker_url}/ping", timeout=10).raise_for_status()

    def start(self, name: str) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_of(name), "ab") as output:
            process = subprocess.Popen(
                self.commands()[name],
                cwd=ROOT,
                env=self.environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        self.processes[name] = process
        return process

    def log_of(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def exited(self) -> dict[str, int]:
        """The processes that have exited, with their exit codes."""
        return {
            name: process.returncode
            for name, process in self.processes.items()
            if process.poll() is not None
        }

    def kill(self, name: str) -> None:
        """SIGKILL, as the kernel's OOM killer or a crash would end it."""
        process = self.processes[name]
        process.kill()
        process.wait(timeout=10)

    def stop_one(self, name: str) -> None:
        """SIGTERM, as `docker stop` or a scale-down does; returns once it exited."""
        process = self.processes[name]
        process.terminate()
        process.wait(timeout=STOP_GRACE_SECONDS)
        del self.processes[name]

    def restart(self, name: str) -> None:
        self.kill(name)
        self.start(name)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        # (A service whose RabbitMQ is gone for good may never finish a graceful stop: killed
        # after the grace period below.)
        for process in self.processes.values():
            try:
                process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        """The end of every process's output, for a failing test's report."""
        parts = []
        for name in self.processes:
            text = self.log_of(name).read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(parts)
