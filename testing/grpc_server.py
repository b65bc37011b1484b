"""`python -m logger.grpc_server` as a subprocess on a free port, for any test that needs the real
gRPC server (the logger's own tests, the broker's client tests, the running system)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from common.config import ROOT
from testing.infrastructure import MONGO_URI
from testing.ports import ProcessExited, free_port, wait_for_port

START_TIMEOUT = 20.0


@dataclass
class GrpcServerProcess:
    address: str
    process: subprocess.Popen
    log: IO[bytes]  # the process's stderr, a temporary file

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=15)


@contextmanager
def grpc_server_process(mongo_database: str, **env: str) -> Iterator[GrpcServerProcess]:
    """The real gRPC server on a free port, writing to `mongo_database`; killed afterwards if it
    still runs. `env` overrides its settings (MONGO_URI, MONGO_TIMEOUT_MS...)."""
    port = free_port()
    environment = {
        **os.environ,
        "MONGO_URI": MONGO_URI,
        "MONGO_DATABASE": mongo_database,
        "LOGGER_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "GRPC_METRICS_ADDRESS": "",  # none unless a test asks for one (a fixed port otherwise)
        **env,
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "logger.grpc_server"], cwd=ROOT, env=environment, stderr=log
        )
        server = GrpcServerProcess(f"127.0.0.1:{port}", process, log)
        try:
            try:
                wait_for_port(port, START_TIMEOUT, process=process)
            except (ProcessExited, TimeoutError) as exc:
                raise RuntimeError(
                    f"the gRPC server did not start: {exc}\n{server.output()}"
                ) from exc
            yield server
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
