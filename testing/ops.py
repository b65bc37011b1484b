"""A service container's ops port (common/ops.py) as a test sees it."""

from __future__ import annotations

import time
from typing import Any

import requests
from nameko.testing.utils import get_extension

from common.ops import Operations


def ops_url(container: Any) -> str:
    return f"http://127.0.0.1:{get_extension(container, Operations).port}"


def health(container: Any) -> tuple[int, dict[str, Any]]:
    """`GET /health`: the status and each check (`data`)."""
    response = requests.get(f"{ops_url(container)}/health", timeout=30)
    return response.status_code, response.json().get("data", {})


def wait_for_health(container: Any, status: int, timeout: float = 20.0) -> dict[str, Any]:
    """Ask until `/health` answers `status` (readiness follows a dependency within seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        answered, checks = health(container)
        if answered == status:
            return checks
        if time.monotonic() > deadline:
            raise AssertionError(f"/health stayed {answered}, not {status}: {checks}")
        time.sleep(0.2)
