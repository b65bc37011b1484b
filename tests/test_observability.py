"""Observability across the running system: one request id through the services' log lines, no
password in any log line, the broker's /health and /metrics, and a real Prometheus scraping
every service."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from common.config import ROOT
from common.logs import console_handler
from testing.grpc_server import grpc_server_process
from testing.ports import free_port, wait_for_port
from testing.waiting import wait_until

PASSWORD = "verysecret"  # the seed user's
WRONG_PASSWORD = "not-the-Password-7f3a"


@pytest.fixture
def all_log_lines() -> Iterator[io.StringIO]:
    """Every record any logger of this process writes meanwhile, at DEBUG, as JSON lines."""
    stream = io.StringIO()
    handler = console_handler("json", "test")
    handler.stream = stream
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_sign_in_is_one_request_id_across_services_and_no_password_is_ever_logged(
    running_system, all_log_lines, logs
):
    handle = running_system.broker_url + "/handle"
    ok = requests.post(
        handle,
        json={"action": "auth", "auth": {"email": "admin@example.com", "password": PASSWORD}},
        headers={"X-Request-ID": "sign-in-1"},
        timeout=30,
    )
    refused = requests.post(
        handle,
        json={"action": "auth", "auth": {"email": "admin@example.com", "password": WRONG_PASSWORD}},
        headers={"X-Request-ID": "sign-in-2"},
        timeout=30,
    )

    assert (ok.status_code, ok.headers["X-Request-ID"]) == (202, "sign-in-1")
    assert (refused.status_code, refused.headers["X-Request-ID"]) == (401, "sign-in-2")
    wait_until(lambda: logs.count_documents({}) == 1, what="the sign-in's log entry")
    time.sleep(0.5)  # the logger's record follows its write
    text = all_log_lines.getvalue()
    assert PASSWORD not in text
    assert WRONG_PASSWORD not in text
    lines = records(all_log_lines)
    calls = {
        (r["message"].split()[0], r["outcome"])
        for r in lines
        if r["request_id"] == "sign-in-1" and "outcome" in r
    }
    assert {
        ("broker.handle", "ok"),
        ("auth.authenticate", "ok"),
        ("logger.on_user_authenticated", "ok"),
    } <= calls
    refusal = [r for r in lines if r["request_id"] == "sign-in-2" and "outcome" in r]
    assert {(r["message"].split()[0], r["outcome"], r["level"]) for r in refusal} == {
        ("broker.handle", "expected", "INFO"),
        ("auth.authenticate", "expected", "INFO"),
    }
    assert not [r for r in lines if "exc_info" in r and r["request_id"] == "sign-in-2"]


def test_the_broker_health_names_each_dependency(running_system):
    response = requests.get(running_system.broker_url + "/health", timeout=30)

    assert response.status_code == 200
    checks = response.json()["data"]
    assert checks["rabbitmq"]["ready"] is True and checks["rabbitmq"]["required"] is True
    for service in ("auth", "logger", "mailer"):
        assert checks[f"{service} service"] == {
            "ready": True,
            "detail": "1 consumer(s)",
            "required": False,
        }


def test_every_service_answers_health_and_metrics(running_system):
    for service, address in running_system.ops_addresses.items():
        health = requests.get(f"http://{address}/health", timeout=30)
        assert health.status_code == 200, (service, health.text)
        metrics = requests.get(f"http://{address}/metrics", timeout=30)
        assert metrics.status_code == 200, service
        names = {family.name for family in text_string_to_metric_families(metrics.text)}
        assert "service_ready" in names, service


def prometheus_config(targets: dict[str, str], folder: Path) -> Path:
    """deploy/prometheus/local.yml (what `make monitor` runs) with this system's addresses."""
    config = yaml.safe_load((ROOT / "deploy/prometheus/local.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # The machine's RabbitMQ is shared: its plugins are `make monitor`'s business, not a test's.
    del jobs["rabbitmq"]
    assert set(jobs) == set(targets)
    for name, job in jobs.items():
        job["static_configs"] = [{"targets": [targets[name]]}]
    config["scrape_configs"] = list(jobs.values())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    shutil.copy(ROOT / "deploy/prometheus/alerts.yml", folder / "alerts.yml")
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_real_prometheus_scrapes_every_service_as_up(running_system, mongo_database):
    prometheus = shutil.which("prometheus")
    assert prometheus, "`make promtool` installs Debian's prometheus"
    grpc_metrics = free_port()
    with (
        grpc_server_process(mongo_database, GRPC_METRICS_ADDRESS=f"127.0.0.1:{grpc_metrics}"),
        tempfile.TemporaryDirectory() as folder,
    ):
        targets = {name.replace("_", "-"): a for name, a in running_system.ops_addresses.items()}
        targets["logger-grpc"] = f"127.0.0.1:{grpc_metrics}"
        config = prometheus_config(targets, Path(folder))
        port = free_port()
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder}/data",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, 60, process=process)
            # The port opens before the TSDB is loaded; until then the API answers 503.
            wait_until(
                lambda: requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=10).ok,
                timeout=60,
                what="prometheus ready",
            )
            api = f"http://127.0.0.1:{port}/api/v1"

            def health_by_job() -> dict[str, str]:
                answer = requests.get(f"{api}/targets", timeout=10).json()
                return {t["labels"]["job"]: t["health"] for t in answer["data"]["activeTargets"]}

            wait_until(
                lambda: set(health_by_job().values()) == {"up"},
                timeout=60,
                what="every target up",
            )
            assert set(health_by_job()) == set(targets)
            rules = requests.get(f"{api}/rules", timeout=10).json()["data"]["groups"]
            assert {group["name"] for group in rules} == {"rabbitmq-queues", "listener", "services"}
        finally:
            process.terminate()
            process.wait(timeout=30)
