"""The fault run of `make bench`: the RabbitMQ path at concurrency 64 while RabbitMQ is restarted
once (`stop_app`, 10 s, `start_app`) and the listener is killed once (SIGKILL, started again).

    python -m bench.faults [--concurrency 64] [--outage 10]

The system runs one OS process per service, the commands `make run` supervises
(testing/service_processes.py), on a private RabbitMQ node (testing/rabbit_nodes.py; the
machine's own is never touched), free ports, a database of its own on the local SecantusDB and
PostgreSQL. Every request carries unique data, so the entries stored afterwards are counted per
request: accepted (202), refused (503/504), anything else; stored, lost (accepted but not
stored), duplicated (stored twice); how long after `start_app` the first event was accepted
again, and how long the listener took to drain what waited for it.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pymongo
import requests

from auth.migrate import migrate
from testing.infrastructure import MONGO_URI, POSTGRES_ADMIN_URI, SMTP_HOST, SMTP_PORT
from testing.rabbit_nodes import RabbitNode
from testing.service_processes import Servers, ServiceProcesses


@dataclass
class Load:
    """`concurrency` threads posting to /log-rabbit, each request with its own data."""

    url: str
    concurrency: int
    answers: list[tuple[str, int, float]] = field(default_factory=list)  # data, status, when
    running: bool = True

    def run(self) -> None:
        with ThreadPoolExecutor(self.concurrency) as pool:
            for worker in range(self.concurrency):
                pool.submit(self._work, worker)

    def _work(self, worker: int) -> None:
        session, number = requests.Session(), 0
        while self.running:
            data = f"{worker}-{number}-{uuid.uuid4().hex[:6]}"
            number += 1
            try:
                status = session.post(
                    self.url, json={"log": {"name": "fault-bench", "data": data}}, timeout=10
                ).status_code
            except requests.RequestException:
                status = 0
            self.answers.append((data, status, time.monotonic()))


def users_database() -> str:
    uri = POSTGRES_ADMIN_URI.replace("postgresql://", "postgresql+psycopg2://", 1)
    uri = uri.rsplit("/", 1)[0] + "/users_bench_faults"
    migrate(uri)
    return uri


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--outage", type=float, default=10, help="seconds RabbitMQ is away")
    args = parser.parse_args()

    database = f"logs_bench_faults_{uuid.uuid4().hex[:8]}"
    mongo = pymongo.MongoClient(MONGO_URI)
    logs = mongo[database]["logs"]
    with tempfile.TemporaryDirectory() as tmp, RabbitNode.private() as node:
        servers = Servers(
            node.amqp_uri, MONGO_URI, database, users_database(), SMTP_HOST, SMTP_PORT
        )
        with ServiceProcesses(servers, Path(tmp) / "logs") as system:
            load = Load(f"{system.broker_url}/log-rabbit", args.concurrency)
            thread = threading.Thread(target=load.run)
            thread.start()
            try:
                time.sleep(5)
                node.stop_app()
                time.sleep(args.outage)
                node.start_app()
                back_at = time.monotonic()
                time.sleep(10)
                system.kill("listener")
                time.sleep(2)
                system.start("listener")
                time.sleep(10)
            finally:
                load.running = False
                thread.join()
            stopped_at = time.monotonic()
            accepted = {data for data, status, _ in load.answers if status == 202}
            while time.monotonic() - stopped_at < 180:
                stored = Counter(e["data"] for e in logs.find({"name": "fault-bench"}, {"data": 1}))
                if accepted <= set(stored):
                    break
                time.sleep(0.5)
            drained_in = time.monotonic() - stopped_at
            exited = system.exited()
    mongo.drop_database(database)
    mongo.close()

    statuses = Counter(status for _, status, _ in load.answers)
    recovered = min(
        (at for _, status, at in load.answers if status == 202 and at > back_at), default=None
    )
    lost = accepted - set(stored)
    doubled = [data for data, count in stored.items() if count > 1]
    print(
        f"fault run: RabbitMQ path, concurrency {args.concurrency}; RabbitMQ away "
        f"{args.outage:g} s (stop_app/start_app), then the listener SIGKILLed and restarted"
    )
    print(
        "| requests | accepted | refused 503/504 | other | stored | lost | duplicated "
        "| first 202 after start_app | drained after load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    other = sum(n for status, n in statuses.items() if status not in (202, 503, 504))
    recover = f"{recovered - back_at:.1f} s" if recovered is not None else "never"
    print(
        f"| {len(load.answers)} | {len(accepted)} | {statuses[503] + statuses[504]} | {other} "
        f"| {len(stored)} | {len(lost)} | {len(doubled)} | {recover} | {drained_in:.1f} s |"
    )
    if exited:
        print(f"processes that exited: {exited}")


if __name__ == "__main__":
    main()
