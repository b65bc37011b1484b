"""Reading logs at scale: the listings a log dashboard asks for, on a private SecantusDB holding
a million entries, idle and while 1,000 entries a second arrive.

    python -m bench.reads [--entries 1000000] [--samples 200] [--read-rate 40] [--rate 1000]
                          [--data-dir DIR]

Loads the entries (bench/log_data.py; `--data-dir` keeps the loaded server for the next run),
then reads each listing through `LogStore.page` as the logger does with MONGO_SORTS_ALL_MATCHES:
first by a fresh store (nothing remembered: the first read after a quiet spell), then
`--samples` times each, round-robin at `--read-rate` reads a second, idle and while a writer
stores `--rate` entries a second. Prints p50/p99 in milliseconds and the server's CPU per read;
writes the table to bench/results/reads.md too.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pymongo

from bench.log_data import load, private_secantusdb, steady_writer
from logger.log_readers import INDEXES
from logger.storage import LogStore

DATABASE = "logs"
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figures:
    times: list[float] = field(default_factory=list)  # milliseconds
    rows: int = 0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


Table = dict[str, Figures]


def listings(store: LogStore, now: datetime) -> dict[str, Callable[[], Any]]:
    """What a dashboard asks for: each call reads one page."""
    newest = store.page(limit=20)
    third = store.page(limit=20, cursor=store.page(limit=20, cursor=newest["next"])["next"])
    week_ago = now - timedelta(days=7)
    some_id = newest["entries"][-1]["id"]
    return {
        "newest 20": lambda: store.page(limit=20),
        "newest 20 ERROR (1%)": lambda: store.page(level="ERROR", limit=20),
        "newest 20 WARNING (9%)": lambda: store.page(level="WARNING", limit=20),
        "newest 20 of name payment (2%)": lambda: store.page(name="payment", limit=20),
        "newest 20 mailer ERROR (0.1%)": lambda: store.page(name="mailer", level="ERROR", limit=20),
        "newest 20 of an hour a week ago": lambda: store.page(
            since=week_ago.isoformat(), until=(week_ago + timedelta(hours=1)).isoformat(), limit=20
        ),
        "page 2 (cursor)": lambda: store.page(limit=20, cursor=newest["next"]),
        "page 2 back from page 3": lambda: store.page(limit=20, cursor=third["prev"]),
        "newest 100": lambda: store.page(limit=100),
        "search data 'timeout refused'": lambda: store.page(q="timeout refused", limit=20),
        "one entry by id": lambda: [store.get(some_id)],
    }


def measure(shapes: dict[str, Callable[[], Any]], samples: int, rate: float = 0) -> Table:
    """Each listing `samples` times, round-robin; `rate` reads a second at most (0: no pause)."""
    figures = {name: Figures() for name in shapes}
    slot = time.perf_counter()
    for _ in range(samples):
        for name, read in shapes.items():
            if rate:
                slot += 1 / rate
                time.sleep(max(0.0, slot - time.perf_counter()))
            started = time.perf_counter()
            result = read()
            figures[name].times.append((time.perf_counter() - started) * 1000)
            figures[name].rows = len(result["entries"] if isinstance(result, dict) else result)
    return figures


def first_reads(database: Any, now: datetime) -> Table:
    """Each listing read once by a store that remembers nothing."""
    figures = {}
    for name in listings(LogStore(database, sorts_all_matches=True), now):
        shapes = listings(LogStore(database, sorts_all_matches=True), now)
        figures[name] = measure({name: shapes[name]}, 1)[name]
    return figures


def report(first: Table, phases: dict[str, Table], notes: list[str]) -> str:
    columns = "".join(f" {phase} p50 | {phase} p99 |" for phase in phases)
    lines = [f"| listing | first read |{columns} rows |", "|---" * (3 + 2 * len(phases)) + "|"]
    for name, cold in first.items():
        cells = "".join(
            f" {figures[name].percentile(0.5):.1f} | {figures[name].percentile(0.99):.1f} |"
            for figures in phases.values()
        )
        lines.append(f"| {name} | {cold.times[0]:.1f} |{cells} {cold.rows} |")
    return "\n".join(["Milliseconds per read:", "", *lines, "", *(f"- {n}" for n in notes)]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200, help="reads of each listing")
    parser.add_argument("--rate", type=int, default=1000, help="entries/s the writer stores")
    parser.add_argument(
        "--read-rate", type=float, default=40, help="reads/s, as a few dashboards refreshing"
    )
    parser.add_argument("--data-dir", help="keep (or reuse) the loaded server here")
    args = parser.parse_args()
    notes = []
    with private_secantusdb(args.data_dir) as (uri, pid):
        client = pymongo.MongoClient(uri)
        database, server = client[DATABASE], psutil.Process(pid)
        stored = database.logs.estimated_document_count()
        if stored < args.entries:
            database.logs.drop()
            inserted, indexed = load(database.logs, args.entries, datetime.now(UTC))
            notes.append(
                f"Loading {args.entries:,} entries: {inserted:.0f} s to insert, "
                f"{indexed:.0f} s to build the {len(INDEXES)} indexes"
            )
        else:
            notes.append(f"{stored:,} entries reused from {args.data_dir}")
        now = datetime.now(UTC)
        first = first_reads(database, now)
        shapes = listings(LogStore(database, sorts_all_matches=True), now)
        cpu = sum(server.cpu_times()[:2])
        phases = {"idle": measure(shapes, args.samples, args.read_rate)}
        reads = args.samples * len(shapes)
        cpu_ms = (sum(server.cpu_times()[:2]) - cpu) * 1000 / reads
        notes.append(f"SecantusDB CPU per read, idle: {cpu_ms:.2f} ms (mean over all listings)")
        with steady_writer(uri, DATABASE, args.rate) as written:
            time.sleep(2)
            started, before = time.monotonic(), written.value
            phases["writer"] = measure(shapes, args.samples, args.read_rate)
            rate = (written.value - before) / (time.monotonic() - started)
        notes.append(f"Writer: {rate:,.0f} entries/s stored during its phase, in batches of 50")
        client.close()
    text = report(first, phases, notes)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reads.md").write_text(text)


if __name__ == "__main__":
    main()
