"""The ops port of a Nameko service without HTTP: /metrics parses, /health tells the truth."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import get_extension
from prometheus_client.parser import text_string_to_metric_families

from common.ops import Operations
from common.readiness import Check
from common.rpc import rpc
from common.tracing import CallTracer


class Switch(DependencyProvider):
    """A dependency whose readiness the test decides."""

    up = True

    def readiness(self) -> dict[str, Check]:
        return {"switch": Check(Switch.up, "on" if Switch.up else "off")}


class Quiet:
    name = "quiet"

    tracer = CallTracer()
    ops = Operations()
    switch = Switch()

    @rpc
    def hello(self, fail: bool = False) -> str:
        if fail:
            raise KeyError("a bug")
        return "hi"


@pytest.fixture
def quiet(container_factory, rabbit_config) -> Any:
    Switch.up = True
    container = container_factory(Quiet, {**rabbit_config, "METRICS_ADDRESS": "127.0.0.1:0"})
    container.start()
    container.ops_url = f"http://127.0.0.1:{get_extension(container, Operations).port}"
    return container


def families(url: str) -> dict[str, Any]:
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def value(family: Any, sample_name: str, **labels: str) -> float:
    matches = [
        s.value
        for s in family.samples
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    return sum(matches)


def test_known_calls_show_exactly_in_the_exposition(quiet, rabbit_config):
    with ServiceRpcProxy("quiet", rabbit_config, timeout=10) as proxy:
        for _ in range(3):
            assert proxy.hello() == "hi"
        with pytest.raises(Exception, match="KeyError"):
            proxy.hello(fail=True)

    found = families(quiet.ops_url)

    calls = found["nameko_entrypoint_calls"]
    labels = {"service": "quiet", "entrypoint": "hello"}
    assert value(calls, "nameko_entrypoint_calls_total", outcome="ok", **labels) == 3
    assert value(calls, "nameko_entrypoint_calls_total", outcome="error", **labels) == 1
    durations = found["nameko_entrypoint_duration_seconds"]
    ok = {"outcome": "ok", **labels}
    assert value(durations, "nameko_entrypoint_duration_seconds_count", **ok) == 3
    buckets = sorted(
        float(s.labels["le"])
        for s in durations.samples
        if s.name.endswith("_bucket")
        and s.labels["entrypoint"] == "hello"
        and s.labels["outcome"] == "ok"
    )
    assert buckets[0] == 0.001 and buckets[-1] == float("inf")
    assert value(durations, "nameko_entrypoint_duration_seconds_bucket", le="+Inf", **ok) == 3


def test_health_follows_each_dependency_and_says_which(quiet):
    ready = requests.get(f"{quiet.ops_url}/health", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["data"]["switch"] == {"ready": True, "detail": "on", "required": True}
    assert ready.json()["data"]["rabbitmq"]["ready"] is True
    assert "rpc-quiet" in ready.json()["data"]["rabbitmq"]["detail"]

    Switch.up = False
    unready = requests.get(f"{quiet.ops_url}/health", timeout=10)
    assert unready.status_code == 503
    assert unready.json()["message"] == "not ready: switch"
    gauge = families(quiet.ops_url)["service_ready"]
    assert value(gauge, "service_ready", service="quiet", dependency="switch") == 0

    Switch.up = True
    assert requests.get(f"{quiet.ops_url}/health", timeout=10).status_code == 200


def test_ping_answers_and_other_paths_do_not(quiet):
    assert requests.get(f"{quiet.ops_url}/ping", timeout=10).status_code == 200
    assert requests.get(f"{quiet.ops_url}/other", timeout=10).status_code == 404
    assert requests.post(f"{quiet.ops_url}/metrics", timeout=10).status_code == 405


def test_nothing_listens_without_an_address(container_factory, rabbit_config):
    container = container_factory(Quiet, rabbit_config)
    container.start()

    assert get_extension(container, Operations)._socket is None
