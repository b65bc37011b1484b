"""`make bench`: the whole system on this machine under load, and the figures issue 3 asks for.

For each log transport (rabbit, rpc, grpc) at concurrency 1, 16 and 64, wrk POSTs log entries to
the broker; then the entries actually stored in MongoDB are counted (for rabbit, after the
listener has drained the queue). Then the listener's drain rate from a backlog, a soak that
shows whether memory stays flat, and every process's peak RSS.

    python -m bench.run [--seconds 10] [--brokers 1] [--backlog 10000] [--soak 60] [--cluster]

`--cluster` adds bench/cluster.py's section: the RabbitMQ path on one node against a 3-node
cluster, and the failover time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pymongo
from kombu import Connection, Producer
from pymongo import IndexModel

from bench import cluster
from bench.system import RssSampler, System
from bench.wrk import WrkResult, run_wrk
from common.log_topology import LOGS_EXCHANGE, routing_key
from logger.log_readers import INDEXES

DATABASE = "logs_bench"
ROUTES = {"rabbit": "/log-rabbit", "rpc": "/log-rpc", "grpc": "/log-grpc"}
CONCURRENCIES = (1, 16, 64)
AMQP_URI = os.environ.get("AMQP_URI", "pyamqp://guest:guest@localhost")
RESULTS = Path(__file__).resolve().parent / "results"


def settle(collection, expected: int, seconds: float = 120) -> int:
    """The number of stored entries once it reaches `expected` or stops growing for 3 s.

    SecantusDB counts by scanning, so every run starts from an empty collection (`fresh`) and
    polls no more than four times a second: counting must not slow down the storing it measures.
    """
    deadline, last, last_change = time.monotonic() + seconds, -1, time.monotonic()
    while time.monotonic() < deadline:
        count = collection.estimated_document_count()
        if count >= expected:
            return count
        if count != last:
            last, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > 3:
            return count
        time.sleep(0.25)
    return collection.estimated_document_count()


def fresh(collection) -> None:
    """Empty the collection, keeping the logger's indexes (as `LogStore` creates them)."""
    collection.drop()
    collection.create_indexes([IndexModel(keys, name=name) for name, keys in INDEXES.items()])


def load(transport: str, concurrency: int, seconds: int, collection) -> tuple[WrkResult, int]:
    """wrk against one route; returns its figures and how many of the entries were stored."""
    body = json.dumps({"log": {"name": f"bench-{transport}-c{concurrency}", "data": "x" * 100}})
    fresh(collection)
    result = run_wrk(
        f"http://127.0.0.1:8080{ROUTES[transport]}",
        connections=concurrency,
        seconds=seconds,
        method="POST",
        body=body,
    )
    return result, settle(collection, result.ok)


def drain_rate(system: System, collection, backlog: int) -> float:
    """Events/s the listener stores from a backlog it finds waiting in its queue."""
    listener = system.pid_of("listener")
    fresh(collection)
    os.kill(listener, signal.SIGSTOP)  # paused: events pile up in the queue
    try:
        with Connection(AMQP_URI, transport_options={"confirm_publish": True}) as connection:
            producer = Producer(connection.default_channel, exchange=LOGS_EXCHANGE)
            for number in range(backlog):
                producer.publish(
                    {"name": "bench-drain", "data": f"event {number}"},
                    routing_key=routing_key("INFO"),
                    delivery_mode=2,
                )
    finally:
        started = time.monotonic()
        os.kill(listener, signal.SIGCONT)
    stored = settle(collection, backlog)
    elapsed = time.monotonic() - started
    if stored < backlog:
        raise SystemExit(f"drain: only {stored} of {backlog} events stored")
    return backlog / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per load run")
    parser.add_argument("--brokers", type=int, default=1, help="broker processes on :8080")
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--soak", type=int, default=60, help="seconds of sustained load")
    parser.add_argument("--cluster", action="store_true", help="then bench.cluster's section")
    args = parser.parse_args()

    mongo = pymongo.MongoClient("mongodb://127.0.0.1:27017")
    mongo.drop_database(DATABASE)
    collection = mongo[DATABASE]["logs"]
    env = {"MONGO_DATABASE": DATABASE, "LOG_LEVEL": "WARNING"}
    lines = [
        f"# Benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, "
        f"{args.brokers} broker process(es), wrk {args.seconds} s per row, all on this machine",
        "",
        "| transport | concurrency | req/s | p50 ms | p99 ms | errors | accepted | stored |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with System(env, broker_processes=args.brokers) as system:
        sampler = RssSampler(system.processes())
        sampler.start()
        for transport in ROUTES:
            for concurrency in CONCURRENCIES:
                result, stored = load(transport, concurrency, args.seconds, collection)
                lines.append(
                    f"| {transport} | {concurrency} | {result.requests_per_second:.0f} "
                    f"| {result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.errors} "
                    f"| {result.ok} | {stored} |"
                )
                print(lines[-1], flush=True)
        rate = drain_rate(system, collection, args.backlog)
        lines += ["", f"Listener drain: {args.backlog} queued events stored at {rate:.0f} events/s"]
        print(lines[-1], flush=True)

        sampler.mark("soak start")
        soak, soak_stored = load("rabbit", 64, args.soak, collection)
        sampler.mark("soak end")
        sampler.stop()
        lines += [
            f"Soak: rabbit at concurrency 64 for {args.soak} s: {soak.requests_per_second:.0f} "
            f"req/s, p99 {soak.p99_ms:.1f} ms, {soak.errors} errors, "
            f"{soak.ok} accepted, {soak_stored} stored",
            "",
            "| process | RSS at start MB | peak MB | before soak MB | after soak MB |",
            "|---|---|---|---|---|",
        ]
        for name, trace in sorted(sampler.traces.items()):
            figures = [trace.first, trace.peak, trace.marks["soak start"], trace.marks["soak end"]]
            megabytes = " | ".join(f"{rss / 2**20:.0f}" for rss in figures)
            lines.append(f"| {name} | {megabytes} |")
    mongo.drop_database(DATABASE)
    if args.cluster:
        lines += cluster.report(args.seconds)
    report = "\n".join(lines)
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
