"""One row of `make bench`: wrk against a log route, the entries stored, and the CPU it cost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from kombu import Connection, Producer
from pymongo import IndexModel

from bench import cpu
from bench.system import ROOT, System
from bench.wrk import WrkResult, run_wrk
from common.log_topology import LOGS_EXCHANGE, routing_key
from logger.log_readers import INDEXES

ROUTES = {"rabbit": "/log-rabbit", "rpc": "/log-rpc", "grpc": "/log-grpc"}


@dataclass(frozen=True)
class Row:
    tree: str
    transport: str
    concurrency: int
    seconds: int
    result: WrkResult
    stored: int
    cpu: cpu.CpuShare

    @staticmethod
    def header() -> str:
        names = (*cpu.COLUMNS, "other", "total")
        head = "| tree | transport | c | s | req/s | p50 ms | p99 ms | errors | accepted | stored "
        head += "| "
        head += " | ".join(f"{name} CPU ms/req" for name in names) + " |"
        return head + "\n" + "|---" * (10 + len(names)) + "|"

    def line(self) -> str:
        r = self.result
        return (
            f"| {self.tree} | {self.transport} | {self.concurrency} | {self.seconds} "
            f"| {r.requests_per_second:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} "
            f"| {r.ok} | {self.stored} | {cpu.cells(self.cpu)} |"
        )

    @staticmethod
    def sort_key(line: str) -> tuple:
        """Rows of one transport, concurrency and length together, whichever tree ran them."""
        tree, transport, concurrency, seconds = (cell.strip() for cell in line.split("|")[1:5])
        return (list(ROUTES).index(transport), int(seconds), int(concurrency), tree != "this")


def settle(collection, expected: int, seconds: float = 120) -> int:
    """The number of stored entries once it reaches `expected` or stops growing for 3 s.

    SecantusDB counts by scanning, so every row starts from an empty collection (`fresh`) and
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


def load(
    system: System,
    tree: str,
    transport: str,
    concurrency: int,
    seconds: int,
    collection,
    meter: cpu.CpuMeter,
) -> Row:
    """wrk against one route; its figures, the entries stored, and CPU per request.

    The CPU interval covers wrk's run and the drain behind it (the listener storing what the
    broker accepted), so every process's work for these requests is counted.
    """
    body = json.dumps({"log": {"name": f"bench-{transport}-c{concurrency}", "data": "x" * 100}})
    fresh(collection)
    url = system.url + ROUTES[transport]
    warm_up = run_wrk(url, connections=concurrency, seconds=1, method="POST", body=body)
    settle(collection, warm_up.ok, 30)
    fresh(collection)
    meter.start()
    result = run_wrk(url, connections=concurrency, seconds=seconds, method="POST", body=body)
    stored = settle(collection, result.ok)
    return Row(tree, transport, concurrency, seconds, result, stored, meter.share(result.ok))


def drain_rate(system: System, collection, backlog: int, amqp_uri: str) -> float:
    """Events/s the listener stores from a backlog it finds waiting in its queue."""
    listener = system.pid_of("listener")
    fresh(collection)
    os.kill(listener, signal.SIGSTOP)  # paused: events pile up in the queue
    try:
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
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


def export_tree(ref: str, folder: Path) -> Path:
    """The files of `ref` (no checkout: nobody's work tree changes)."""
    archive = folder / "tree.tar"
    subprocess.run(["git", "archive", "-o", str(archive), ref], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"
