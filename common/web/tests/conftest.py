"""A small service on the HTTP core, started per test on a free port with tight limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import eventlet
import pytest

from common.web.tests.sample_service import LIMITS, Gate, SampleService
from testing.ports import free_port


@pytest.fixture
def sample(container_factory) -> Callable[..., Any]:
    """`sample(**limit_overrides)` starts the service and returns it (with `.port`)."""
    Gate.event = eventlet.event.Event()
    Gate.entered = 0

    def start(max_workers: int = 4, **overrides: Any) -> Any:
        port = free_port()
        config = {
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
            "WEB_SERVER_LIMITS": {**LIMITS, **overrides},
            "max_workers": max_workers,
        }
        container = container_factory(SampleService, config)
        container.start()
        container.port = port
        return container

    yield start
    if not Gate.event.ready():
        Gate.event.send()
