"""The gRPC server's side of operations: the standard health service and its metrics port.

- `grpc.health.v1.Health` (grpcio-health-checking) answers SERVING while MongoDB answers a ping
  and NOT_SERVING while it does not, for the whole server ("") and for `logs.LogService`;
  `MongoWatch` pings every `LOGGER_GRPC_HEALTH_INTERVAL` seconds in a daemon thread, so a
  Kubernetes `grpc` probe (or `grpc_health_probe`) sees the truth without touching MongoDB itself.
- `GRPC_METRICS_ADDRESS` serves /metrics (common/metrics.py) from prometheus_client's own
  threaded server: this process is not eventlet-patched.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

import grpc
import pymongo
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import start_http_server

from common import metrics

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
PING_TIMEOUT_SECONDS = 2.0


class MongoWatch:
    """Keeps the health service's status in step with MongoDB."""

    def __init__(
        self, servicer: health.HealthServicer, client: pymongo.MongoClient, services: list[str]
    ) -> None:
        self._servicer = servicer
        self._client = client
        self._services = ["", *services]
        self._stopped = threading.Event()
        self._serving: bool | None = None

    def check(self) -> bool:
        try:
            with pymongo.timeout(PING_TIMEOUT_SECONDS):
                self._client.admin.command("ping")
        except Exception as exc:
            serving = False
            reason = f"{type(exc).__name__}: {exc}"
        else:
            serving, reason = True, "ping answered"
        if serving != self._serving:
            log.log(logging.INFO if serving else logging.WARNING, "MongoDB: %s", reason)
            self._serving = serving
            for service in self._services:
                self._servicer.set(service, SERVING if serving else NOT_SERVING)
            metrics.READY.labels("logger_grpc", "mongodb").set(1 if serving else 0)
        return serving

    def run(self, interval: float) -> None:
        while not self._stopped.is_set():
            self.check()
            self._stopped.wait(interval)

    def start(self, interval: float) -> None:
        self.check()
        threading.Thread(target=self.run, args=(interval,), name="mongo-watch", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        for service in self._services:
            self._servicer.set(service, NOT_SERVING)


def serve_health(
    server: grpc.Server, client: pymongo.MongoClient, service: str, interval: float
) -> MongoWatch:
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    watch = MongoWatch(servicer, client, [service])
    watch.start(interval)
    return watch


def probe(target: str, timeout: float = 3.0) -> str:
    """The status the server at `target` (host:port) answers for the whole server."""
    with grpc.insecure_channel(target) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=timeout
        )
    return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


def main() -> int:
    """`python -m logger.grpc_health`: exit 0 when the local gRPC server (LOGGER_GRPC_ADDRESS)
    answers SERVING; the container health check of `logger-grpc`."""
    address = os.environ.get("LOGGER_GRPC_ADDRESS", "127.0.0.1:50001")
    host, _, port = address.rpartition(":")
    if host.strip("[]") in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    try:
        status = probe(f"{host}:{port}")
    except grpc.RpcError as exc:
        sys.stderr.write(f"unhealthy: gRPC health {host}:{port}: {exc.code().name}\n")
        return 1
    if status != "SERVING":
        sys.stderr.write(f"unhealthy: gRPC health {host}:{port}: {status}\n")
        return 1
    return 0


def serve_metrics(address: str | None) -> None:
    if not address:
        return
    host, _, port = address.rpartition(":")
    start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0")


if __name__ == "__main__":
    sys.exit(main())
