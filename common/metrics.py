"""The system's Prometheus metrics, defined once (prometheus_client's default registry).

Every process exposes them in the text format: the HTTP services (broker, test page) on their own
port's `GET /metrics`, the Nameko services without HTTP on `METRICS_ADDRESS`
(`common.ops_server`), the gRPC server on its own `METRICS_ADDRESS`. Names follow Prometheus'
conventions (base units: seconds; counters end in `_total`). Labels stay few and bounded: a
service, an entrypoint or target method, an outcome (`ok`, `expected`, `error`, `timeout`,
`unavailable`); never a request id, an address or a user.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Metric,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.utils import floatToGoString

# Seconds: from a fast cached answer (~1 ms) to the 30 s mail deadline.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class CallStats:
    """`nameko_entrypoint_calls_total` and `nameko_entrypoint_duration_seconds`, by service,
    entrypoint and outcome, kept in plain Python and turned into metrics when scraped.

    They are updated once per entrypoint call, the broker's hot path: a prometheus_client
    Histogram takes a lock per observation, which under eventlet's monkey-patching is a green
    lock, ~10 us for a counter and a histogram; this is a bisect and three additions (~1 us).
    Only green threads of one OS thread update it (the tracer's worker_result), and a scrape runs
    in a green thread too, so no lock is needed.
    """

    def __init__(self) -> None:
        self.series: dict[tuple[str, str, str], list[float]] = {}
        self._bounds = LATENCY_BUCKETS
        # Per series: a count per bucket (the last one: above every bound), then the sum.
        self._width = len(LATENCY_BUCKETS) + 2

    def observe(self, key: tuple[str, str, str], seconds: float) -> None:
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = [0.0] * self._width
        series[bisect_left(self._bounds, seconds)] += 1
        series[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        labels = ["service", "entrypoint", "outcome"]
        calls = CounterMetricFamily(
            "nameko_entrypoint_calls",
            "Entrypoint calls (one Nameko worker each), by outcome.",
            labels=labels,
        )
        durations = HistogramMetricFamily(
            "nameko_entrypoint_duration_seconds",
            "Time a worker took, from its setup to its result, by outcome.",
            labels=labels,
        )
        for key, series in list(self.series.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip((*self._bounds, float("inf")), series[:-1], strict=True):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            calls.add_metric(list(key), cumulative)
            durations.add_metric(list(key), buckets, series[-1])
        yield calls
        yield durations


CALL_STATS = CallStats()
REGISTRY.register(CALL_STATS)
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
LOG_PUBLISHES = Counter(
    "broker_log_publishes",
    "Log events the broker published to logs_topic, by outcome: confirmed by RabbitMQ, "
    "unroutable (no queue bound), refused (a channel error), unavailable (no node confirmed).",
    ["outcome"],
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
