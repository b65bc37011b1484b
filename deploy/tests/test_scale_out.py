"""Scaling an HTTP service on one machine: several `nameko run` processes on the same port.

The HTTP core (common/web) binds with eventlet's `listen()`, which sets SO_REUSEPORT: a second
process on the same address does not fail with "address in use", and the kernel spreads new
connections among the processes. The README ("Growing past one machine") relies on this.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from deploy.tests.project import ROOT
from testing.ports import free_port, wait_for_port

NAMEKO = Path(sys.executable).parent / "nameko"
MAX_REQUESTS = 200
STARTUP_SECONDS = 30


def test_two_processes_share_one_port_and_both_serve(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "GATEWAY_UI_ADDRESS": f"127.0.0.1:{port}", "PYTHONWARNINGS": "ignore"}
    logs = [tmp_path / f"page-{number}.log" for number in (1, 2)]
    processes = [
        subprocess.Popen(
            [str(NAMEKO), "run", "--config", "gateway_ui/config.yaml", "gateway_ui.service"],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        for process in processes:
            # Each process itself: the port answers as soon as the first one listens.
            wait_for_port(port, STARTUP_SECONDS, process=process)
        served = [0, 0]
        for _ in range(MAX_REQUESTS):
            # A new connection each time: the kernel picks a process per connection.
            requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).raise_for_status()
            served = [log.read_text().count("GET /ping") for log in logs]
            if all(served):
                break
        assert all(process.poll() is None for process in processes)
        assert all(served), f"requests served per process: {served}"
    finally:
        # Killed, not stopped: graceful stop is not the subject here (the test page's own
        # tests check that SIGTERM stops it at once).
        for process in processes:
            process.kill()
            process.wait()
