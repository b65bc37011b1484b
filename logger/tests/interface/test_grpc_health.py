"""The gRPC server's standard health service follows MongoDB (a private SecantusDB the test stops
and starts again), and its metrics port serves the exposition."""

import os
import subprocess
import sys
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from common.config import ROOT
from testing.grpc_client import call_from_plain_process
from testing.grpc_server import grpc_server_process
from testing.ports import free_port
from testing.private_mongo import PrivateMongo

# A plain process (the tests' own is eventlet-patched): the status of `service`, as a probe asks.
PROBE = """
import sys, grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(sys.argv[1]))
request = health_pb2.HealthCheckRequest(service=sys.argv[2])
answer = stub.Check(request, timeout=5)
print(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))
"""


def status(address: str, service: str = "") -> str:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, address, service],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return completed.stdout.strip()


def container_check(address: str) -> subprocess.CompletedProcess[str]:
    """`python -m logger.grpc_health`, the logger-grpc container's health check."""
    return subprocess.run(
        [sys.executable, "-m", "logger.grpc_health"],
        cwd=ROOT,
        env={**os.environ, "LOGGER_GRPC_ADDRESS": address.replace("127.0.0.1", "0.0.0.0")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_for_status(address: str, expected: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (answered := status(address)) != expected:
        assert time.monotonic() < deadline, f"health stayed {answered}, not {expected}"
        time.sleep(0.5)


@pytest.fixture
def mongo():
    node = PrivateMongo()
    node.start()
    yield node
    node.close()


def test_health_is_serving_while_mongodb_answers_and_not_while_it_is_down(mongo, mongo_database):
    env = {"MONGO_URI": mongo.uri, "LOGGER_GRPC_HEALTH_INTERVAL": "0.5", "MONGO_TIMEOUT_MS": "1000"}
    with grpc_server_process(mongo_database, **env) as server:
        wait_for_status(server.address, "SERVING")
        assert status(server.address, "logs.LogService") == "SERVING"
        assert container_check(server.address).returncode == 0

        mongo.stop()
        wait_for_status(server.address, "NOT_SERVING")
        assert status(server.address, "logs.LogService") == "NOT_SERVING"
        unhealthy = container_check(server.address)
        assert unhealthy.returncode == 1
        assert unhealthy.stderr.endswith(": NOT_SERVING\n")

        mongo.start()
        wait_for_status(server.address, "SERVING")
        assert "MongoDB: ping answered" in server.output()


def test_the_metrics_port_counts_mongodb_writes(mongo_database):
    port = free_port()
    with grpc_server_process(mongo_database, GRPC_METRICS_ADDRESS=f"127.0.0.1:{port}") as server:
        calls = [{"name": "event", "data": "payload"}] * 3
        assert (
            call_from_plain_process(server.address, calls)
            == [{"code": "OK", "result": "logged!"}] * 3
        )

        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text

    families = {family.name: family for family in text_string_to_metric_families(text)}
    writes = families["logger_mongo_write_duration_seconds"]
    counts = [
        s.value
        for s in writes.samples
        if s.name.endswith("_count") and s.labels["operation"] == "insert_many"
    ]
    assert counts == [3]  # one after the other: three batches of one (group commit)
    ready = families["service_ready"].samples
    assert [(s.labels["service"], s.value) for s in ready] == [("logger_grpc", 1.0)]
