"""Private RabbitMQ nodes for tests, beside the machine's own node (which is never touched).

A `RabbitNode` is the Debian package's `rabbitmq-server` run as the `rabbitmq` user with every
path (data, logs, config, enabled plugins, feature flags, pid file) in its own directory and its
own ports (AMQP, Erlang distribution, management API). It shares the machine's Erlang cookie and
epmd, so `rabbitmqctl -n <node>` reaches it and nodes can be clustered (`testing.rabbit_cluster`).

Nothing outlives the test run (`testing.rabbit_processes`): fixtures call `destroy()`, and a
safety net kills what is left. The server dies with the OS thread that started it
(PR_SET_PDEATHSIG): start nodes from the main thread (or a green thread under eventlet).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from testing import rabbit_management as management
from testing.rabbit_management import QueueInfo
from testing.rabbit_processes import (
    die_with_parent,
    free_port,
    make_workdir,
    rabbit_account,
    track,
    untrack,
)

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
CONFIG = """\
loopback_users = none
management.tcp.ip = 127.0.0.1
management.tcp.port = {management_port}
# Queue counts in the management API lag by at most this much (the default is 5 s).
collect_statistics_interval = 1000
"""
SEED_CONFIG = """\
cluster_formation.peer_discovery_backend = classic_config
cluster_formation.classic_config.nodes.1 = {seed}
"""


class RabbitNode:
    """One private RabbitMQ node with the management plugin, on free ports unless given."""

    def __init__(
        self,
        name: str,
        directory: Path,
        amqp_port: int = 0,
        dist_port: int = 0,
        management_port: int = 0,
        seed: str | None = None,
    ) -> None:
        self.nodename = f"{name}@localhost"
        self.seed = seed  # a node to join when this one first boots (classic peer discovery)
        self.directory = directory
        self.amqp_port = amqp_port or free_port()
        self.dist_port = dist_port or free_port()
        self.management_port = management_port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._account, home = rabbit_account()
        # rabbitmqctl on any free port: its default range (35672-35682) is shared machine-wide.
        self._env = {
            **os.environ,
            "HOME": home,
            "RABBITMQ_CTL_DIST_PORT_MIN": "0",
            "RABBITMQ_CTL_DIST_PORT_MAX": "0",
        }
        track(self)

    @classmethod
    def private(cls, name: str | None = None, **ports: int) -> RabbitNode:
        """A node in a fresh directory of its own (removed by `destroy()`)."""
        workdir = make_workdir()
        return cls(name or f"rt{workdir.name[-6:].lower()}", workdir, **ports)

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}//"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    @property
    def running(self) -> bool:
        """The node's Erlang VM runs (its RabbitMQ application may be stopped)."""
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        """Start the VM and return at once; `wait_ready()` waits for it."""
        if self.running:
            return
        self._write_files()
        d = self.directory
        env = {
            **self._env,
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(d / "feature_flags"),
            "RABBITMQ_PID_FILE": str(d / "pid"),
            # The script then execs the VM (our child is beam itself, which SIGTERM stops
            # gracefully), and -noinput keeps it from opening a shell on stdin.
            "RABBITMQ_ALLOW_INPUT": "1",
            "RABBITMQ_SERVER_START_ARGS": "-noinput",
        }
        with (d / "stdout.log").open("ab") as out:
            self.process = subprocess.Popen(
                [SERVER],
                cwd=d,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
                **self._account,
            )

    def start(self, timeout: float = 60) -> None:
        self.launch()
        self.wait_ready(timeout)

    def ready(self) -> bool:
        """AMQP accepts connections and the management API answers."""
        try:
            with socket.create_connection(("127.0.0.1", self.amqp_port), timeout=1):
                pass
        except OSError:
            return False
        return management.answers(self.management_url)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if not self.running:
                raise RuntimeError(f"{self.nodename} exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.nodename} not ready in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop_app(self) -> None:
        """`rabbitmqctl stop_app`: clients are disconnected, the VM stays (a broker restart)."""
        self.ctl("stop_app")

    def start_app(self, timeout: float = 60) -> None:
        self.ctl("start_app")
        self.wait_ready(timeout)

    def stop(self, timeout: float = 60) -> None:
        """Graceful stop of the whole node: SIGTERM, as `rabbitmqctl stop` or systemd would."""
        if self.running:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL of the node's VM (and its helpers): a crash, nothing flushed or announced."""
        if self.process is not None:
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def ensure_running(self, timeout: float = 60) -> None:
        """Undo what an earlier test did: start the VM, or its RabbitMQ application, again."""
        if not self.running:
            self.start(timeout)
        elif not self.ready():
            self.start_app(timeout)

    def destroy(self) -> None:
        """Kill the node and remove its directory."""
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
        untrack(self)

    def ctl_popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [CTL, "-q", "-n", self.nodename, *args],
            cwd=self.directory,
            env=self._env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **self._account,
        )

    def ctl(self, *args: str, timeout: float = 120) -> str:
        """Run `rabbitmqctl -n <this node> ARGS` and return its output (raises on failure)."""
        return ctl_result(self.ctl_popen(*args), timeout)

    def queue(self, name: str, vhost: str = "/") -> QueueInfo:
        """A queue as the management API sees it (counts lag by up to a second)."""
        return QueueInfo.from_api(self.queue_details(name, vhost))

    def queue_details(self, name: str, vhost: str = "/") -> dict[str, Any]:
        return management.queue_details(self.management_url, name, vhost)

    def log_tail(self, lines: int = 40) -> str:
        logs = [self.directory / "stdout.log", self.directory / "log" / f"{self.nodename}.log"]
        text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
        return "\n".join(text.splitlines()[-lines:])

    def _write_files(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = CONFIG.format(management_port=self.management_port)
        if self.seed:
            config += SEED_CONFIG.format(seed=self.seed)
        (self.directory / "rabbitmq.conf").write_text(config)
        (self.directory / "enabled_plugins").write_text("[rabbitmq_management].\n")
        if self._account:
            for name in ("", "rabbitmq.conf", "enabled_plugins"):
                os.chown(self.directory / name, self._account["user"], self._account["group"])

    def __enter__(self) -> RabbitNode:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        return f"<RabbitNode {self.nodename} amqp={self.amqp_port}>"


def ctl_result(process: subprocess.Popen[str], timeout: float = 120) -> str:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    if process.returncode:
        command = " ".join(str(a) for a in process.args[1:])  # type: ignore[index]
        raise RuntimeError(f"rabbitmqctl {command} failed ({process.returncode}): {err or out}")
    return out
