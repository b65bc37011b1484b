"""Test helpers for the gRPC server: run `python -m logger.grpc_server` as a subprocess, and call
it from a plain (not eventlet-patched) Python process with the stub generated from protos/.

Shared by the logger's tests and the broker's gRPC client tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from common.config import ROOT
from conftest import MONGO_URI, free_port

START_TIMEOUT = 20.0


@dataclass
class GrpcServerProcess:
    address: str
    process: subprocess.Popen
    log: Any  # the process's stderr, a temporary file

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=15)


@contextmanager
def grpc_server_process(mongo_database: str, **env: str) -> Iterator[GrpcServerProcess]:
    """The real gRPC server on a free port, writing to `mongo_database`; stopped afterwards."""
    address = f"127.0.0.1:{free_port()}"
    environment = {
        **os.environ,
        "MONGO_URI": MONGO_URI,
        "MONGO_DATABASE": mongo_database,
        "LOGGER_GRPC_ADDRESS": address,
        **env,
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "logger.grpc_server"], cwd=ROOT, env=environment, stderr=log
        )
        server = GrpcServerProcess(address, process, log)
        try:
            _wait_until_listening(server)
            yield server
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _wait_until_listening(server: GrpcServerProcess) -> None:
    host, port = server.address.split(":")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the gRPC server exited:\n{server.output()}")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(
        f"the gRPC server did not listen within {START_TIMEOUT} s:\n{server.output()}"
    )


def call_from_plain_process(
    address: str, calls: list[dict[str, Any]], concurrency: int = 1
) -> list[dict[str, Any]]:
    """Run WriteLog calls ({"name", "data", "timeout"?}) in `logger.tests.grpc_client`."""
    completed = subprocess.run(
        [sys.executable, "-m", "logger.tests.grpc_client", address, str(concurrency)],
        cwd=ROOT,
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout)
