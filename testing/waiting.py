"""Polling until a condition holds, for tests whose subject works asynchronously."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    what: str = "condition",
    *,
    timeout: float = 30,
    interval: float = 0.05,
) -> T:
    """Poll `condition` until it returns something truthy, and return that; fail with an
    AssertionError after `timeout` seconds (a bound, not a SLA).

    `time.sleep` is eventlet's in the monkey-patched test process, so other green threads run
    while this waits.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
