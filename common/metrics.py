"""The system's Prometheus metrics, defined once (prometheus_client's default registry).

Every process exposes them in the text format: the HTTP services (broker, test page) on their own
port's `GET /metrics`, the Nameko services without HTTP on `METRICS_ADDRESS`
(`common.ops_server`), the gRPC server on its own `METRICS_ADDRESS`. Names follow Prometheus'
conventions (base units: seconds; counters end in `_total`). Labels stay few and bounded: a
service, an entrypoint or target method, an outcome (`ok`, `expected`, `error`, `timeout`,
`unavailable`); never a request id, an address or a user.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Seconds: from a fast cached answer (~1 ms) to the 30 s mail deadline.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

ENTRYPOINT_CALLS = Counter(
    "nameko_entrypoint_calls",
    "Entrypoint calls (one Nameko worker each), by outcome.",
    ["service", "entrypoint", "outcome"],
)
ENTRYPOINT_DURATION = Histogram(
    "nameko_entrypoint_duration_seconds",
    "Time a worker took, from its setup to its result, by outcome.",
    ["service", "entrypoint", "outcome"],
    buckets=LATENCY_BUCKETS,
)
RPC_CLIENT_DURATION = Histogram(
    "nameko_rpc_client_duration_seconds",
    "RPC calls made with a deadline (common.rpc_proxy), from the call to its answer.",
    ["service", "target", "outcome"],
    buckets=LATENCY_BUCKETS,
)
LISTENER_BATCH_SIZE = Histogram(
    "listener_batch_size",
    "Messages per batch handed to one listener worker.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 128),
)
LISTENER_MESSAGES = Counter(
    "listener_messages",
    "Log events the listener handled: stored, retried (republished to the retry queue) or "
    "dead_lettered.",
    ["outcome"],
)
BCRYPT_WAITING = Gauge(
    "auth_bcrypt_waiting",
    "Password checks waiting for a bcrypt slot (BCRYPT_CONCURRENCY).",
)
BCRYPT_RUNNING = Gauge("auth_bcrypt_running", "Password checks running in bcrypt now.")
MONGO_WRITE_DURATION = Histogram(
    "logger_mongo_write_duration_seconds",
    "MongoDB writes of log entries (one insert_one, or one insert_many per batch).",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
MAILS = Counter("mailer_mails", "Mails handed to the SMTP server, by outcome.", ["outcome"])
READY = Gauge(
    "service_ready",
    "1 when the dependency is ready for this service, 0 when not (readiness checks).",
    ["service", "dependency"],
)


def exposition(registry: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and their Content-Type."""
    if registry is None:
        return generate_latest(), CONTENT_TYPE_LATEST
    return generate_latest(registry), CONTENT_TYPE_LATEST
