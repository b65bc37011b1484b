"""The suite's own safety net (testing/green_timeout.py): under eventlet, a test over its
pytest-timeout limit fails and the session goes on, wherever the test was waiting."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONFTEST = """
import eventlet
eventlet.monkey_patch()
pytest_plugins = ["testing.green_timeout"]
"""

TESTS = """
import time
import eventlet
import pytest

@pytest.mark.timeout(1)
def test_sleeping_green():
    eventlet.sleep(30)

@pytest.mark.timeout(1)
def test_busy():
    while True:
        pass

@pytest.mark.timeout(1)
def test_waiting_on_a_spawned_greenlet():
    eventlet.spawn(time.sleep, 30).wait()

@pytest.mark.timeout(1)
def test_with_a_busy_bystander():
    def spin():
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            pass
    eventlet.spawn(spin)
    eventlet.sleep(30)

@pytest.mark.timeout(1)
def test_swallowing_exceptions():
    try:
        time.sleep(30)
    except Exception:
        pass
    time.sleep(30)

def test_after_them():
    assert True
"""


def test_a_test_over_its_limit_fails_and_the_session_goes_on(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_slow.py").write_text(TESTS)
    started = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=100,
    )
    took = time.monotonic() - started
    assert "5 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert run.stdout.count("Timeout >1.0s") >= 5, run.stdout
    assert took < 40, f"the session took {took:.0f} s"
