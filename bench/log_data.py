"""Log entries for the read benchmark: a private SecantusDB, a realistic million entries loaded
fast, and a steady writer in its own process.

The entries have the shape the logger stores (`_id` a writer's id string, name, data, level,
request_id, created_at, updated_at): six names and three levels in skewed proportions, data of
20-200 bytes, times spread over 30 days plus a dense burst in the last 10 minutes.
"""

from __future__ import annotations

import multiprocessing
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymongo
from pymongo import IndexModel

from bench.system import wait_for_port
from logger.log_readers import INDEXES

NAMES = {"broker": 40, "auth": 25, "listener": 15, "mailer": 10, "user_authenticated": 8}
NAMES["payment"] = 2
LEVELS = {"INFO": 90, "WARNING": 9, "ERROR": 1}
WORDS = [
    *("request", "accepted", "stored", "retried", "timeout", "refused", "connection", "user"),
    *("token", "mail", "queue", "broker", "listener", "payload", "event", "sent", "delivered"),
    *("failed", "slow", "cache", "database", "lock"),
]
DAYS = 30
BURST = timedelta(minutes=10)
BURST_SHARE = 0.1


@contextmanager
def private_secantusdb(data_dir: str | None = None) -> Iterator[tuple[str, int]]:
    """A SecantusDB of our own on a free port; yields its URI and pid, and always stops it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    temporary = tempfile.TemporaryDirectory(prefix="bench-reads-") if data_dir is None else None
    storage = Path(data_dir) if data_dir is not None else Path(temporary.name)
    storage.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).parent / "secantusd-py"), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--storage-path", str(storage / "db"), "--standalone"]
    with open(storage / "secantusd.log", "ab") as log_file:
        server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, 60)
        yield f"mongodb://127.0.0.1:{port}", server.pid
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if temporary:
            temporary.cleanup()


def entry(rnd: random.Random, created_at: datetime) -> dict[str, Any]:
    created_at = created_at.replace(microsecond=created_at.microsecond // 1000 * 1000)
    data = " ".join(rnd.choices(WORDS, k=rnd.randint(3, 30)))[: rnd.randint(20, 200)]
    return {
        "_id": uuid.UUID(int=rnd.getrandbits(128), version=4).hex,
        "name": rnd.choices(list(NAMES), list(NAMES.values()))[0],
        "data": data,
        "level": rnd.choices(list(LEVELS), list(LEVELS.values()))[0],
        "request_id": uuid.UUID(int=rnd.getrandbits(128), version=4).hex,
        "created_at": created_at,
        "updated_at": created_at,
    }


def load(collection: Any, count: int, now: datetime, seed: int = 1) -> tuple[float, float]:
    """Store `count` entries ending at `now`, then the logger's indexes; returns the seconds
    each took. Building the indexes afterwards is quicker than inserting into them: SecantusDB
    re-reads every index definition for each document it inserts."""
    rnd, started, batch = random.Random(seed), time.monotonic(), []
    for _ in range(count):
        recent = rnd.random() < BURST_SHARE
        age = rnd.random() * (BURST if recent else timedelta(days=DAYS))
        batch.append(entry(rnd, now - age))
        if len(batch) == 10_000:
            collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=False)
    inserted = time.monotonic()
    collection.create_indexes([IndexModel(keys, name=name) for name, keys in INDEXES.items()])
    return inserted - started, time.monotonic() - inserted


def _write(uri: str, database: str, rate: int, batch: int, stop: Any, written: Any) -> None:
    collection = pymongo.MongoClient(uri)[database]["logs"]
    rnd, interval = random.Random(), batch / rate
    next_batch = time.monotonic()
    while not stop.is_set():
        now = datetime.now(UTC)
        collection.insert_many([entry(rnd, now) for _ in range(batch)])
        with written.get_lock():
            written.value += batch
        next_batch += interval
        time.sleep(max(0.0, next_batch - time.monotonic()))


@contextmanager
def steady_writer(uri: str, database: str, rate: int, batch: int = 50) -> Iterator[Any]:
    """Entries stamped now at `rate` a second in batches (the listener's way), from another
    process so that it never holds the measuring process's GIL. Yields the running count."""
    context = multiprocessing.get_context("spawn")
    stop, written = context.Event(), context.Value("l", 0)
    process = context.Process(target=_write, args=(uri, database, rate, batch, stop, written))
    process.start()
    try:
        yield written
    finally:
        stop.set()
        process.join(30)
        if process.is_alive():
            process.kill()
            process.join()
