"""A broker as its own `nameko run` process, for tests that need a second broker beside the one
in the test's process: tokens and throttling must not depend on per-process state."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.config import ROOT
from testing.ports import ProcessExited, free_port, wait_for_port

NAMEKO = Path(sys.executable).parent / "nameko"
START_TIMEOUT = 30.0


@contextmanager
def broker_process(amqp_uri: str, **env: str) -> Iterator[str]:
    """The broker's URL; `env` sets its config's variables (TRUSTED_PROXIES...). Killed after."""
    port = free_port()
    environment = {
        **os.environ,
        "AMQP_URI": amqp_uri,
        "BROKER_ADDRESS": f"127.0.0.1:{port}",
        "PYTHONWARNINGS": "ignore",
        **env,
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(NAMEKO), "run", "--config", "broker/config.yaml", "broker.service"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            try:
                wait_for_port(port, START_TIMEOUT, process=process)
            except (ProcessExited, TimeoutError) as exc:
                log.seek(0)
                output = log.read().decode(errors="replace")
                raise RuntimeError(f"the broker did not start: {exc}\n{output}") from exc
            yield f"http://127.0.0.1:{port}"
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
