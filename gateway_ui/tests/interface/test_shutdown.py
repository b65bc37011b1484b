"""`nameko run` of the test page stops promptly on SIGTERM (see common/web/process.py)."""

import os
import signal
import subprocess
import sys
import time

from common.config import ROOT
from testing.ports import free_port, wait_for_port


def test_sigterm_stops_the_page_within_seconds():
    port = free_port()
    env = {**os.environ, "GATEWAY_UI_ADDRESS": f"127.0.0.1:{port}"}
    command = [sys.executable, "-m", "nameko", "run", "--config", "gateway_ui/config.yaml"]
    process = subprocess.Popen(
        [*command, "gateway_ui.service"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process=process)
        time.sleep(1)  # idle: the hub is asleep when the signal comes
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert time.monotonic() - started < 5
    finally:
        process.kill()
