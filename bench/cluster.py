"""The RabbitMQ path on one node against a 3-node cluster, in the same run, and the failover time.

    python -m bench.cluster [--seconds 10] [--failover 30]
    make bench BENCH_ARGS="--cluster"      # after the usual tables

Both RabbitMQ setups are private nodes of this machine (`testing.rabbit_nodes`, started here and
destroyed at the end; root or the `rabbitmq` user), so they differ only in being one node with
its queues on it or three nodes with every durable queue a quorum queue replicated on all three.
For each, the whole system (bench.system) is started on it with `AMQP_URI` (one node, or the three
in kombu's failover syntax) and wrk POSTs to `/log-rabbit` at concurrency 16 and 64.

Failover: on the cluster, 16 clients post for `--failover` seconds; a third of the way in, the node
leading `listener.logs` (the one every service is connected to) is stopped, and started again
two thirds of the way in. Reported: answers by status, the longest time without any 202 (the
failover as callers see it), and how many accepted events were stored, lost or stored twice.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pymongo
import requests

from bench.system import System
from bench.wrk import run_wrk
from common.log_topology import LISTENER_QUEUE_NAME
from listener.queues import RETRY_QUEUE
from testing.rabbit_cluster import RabbitCluster
from testing.rabbit_management import QueueInfo
from testing.rabbit_nodes import RabbitNode

MONGO_URI = "mongodb://127.0.0.1:27017"
DATABASE = "logs_bench_cluster"
CONCURRENCIES = (16, 64)
FAILOVER_CLIENTS = 16


def settle(collection, name: str, queue: Callable[[str], QueueInfo], seconds: float = 180) -> int:
    """Entries stored under `name` once the listener's queue and its retry queue are empty (every
    message stored or given up), as RabbitMQ's management API sees them (sampled every second)."""
    deadline = time.monotonic() + seconds
    empty_in_a_row = 0
    while time.monotonic() < deadline and empty_in_a_row < 3:
        time.sleep(0.5)
        try:
            waiting = sum(
                _messages(queue, queue_name)
                for queue_name in (LISTENER_QUEUE_NAME, RETRY_QUEUE.name)
            )
            empty_in_a_row = empty_in_a_row + 1 if waiting == 0 else 0
        except requests.RequestException:  # the management API of a node that is restarting
            empty_in_a_row = 0
    return collection.count_documents({"name": name})


def _messages(queue: Callable[[str], QueueInfo], name: str) -> int:
    try:
        return queue(name).messages or 0
    except requests.HTTPError as error:
        if error.response is not None and error.response.status_code == 404:
            return 0  # the retry queue exists from the first retry on
        raise


def throughput(
    label: str, seconds: int, collection, queue: Callable[[str], QueueInfo], broker: str
) -> list[str]:
    rows = []
    for concurrency in CONCURRENCIES:
        name = f"bench-{label.replace(' ', '-')}-c{concurrency}-{uuid.uuid4().hex[:6]}"
        body = f'{{"log": {{"name": "{name}", "data": "{"x" * 100}"}}}}'
        result = run_wrk(
            f"{broker}/log-rabbit",
            connections=concurrency,
            seconds=seconds,
            method="POST",
            body=body,
        )
        stored = settle(collection, name, queue)
        rows.append(
            f"| {label} | {concurrency} | {result.requests_per_second:.0f} | {result.p50_ms:.1f} "
            f"| {result.p99_ms:.1f} | {result.errors} | {result.ok} | {stored} |"
        )
        print(rows[-1], flush=True)
    return rows


def failover(cluster: RabbitCluster, seconds: int, collection, broker: str) -> list[str]:
    leader = cluster.leader_of(LISTENER_QUEUE_NAME)
    name = f"failover-{uuid.uuid4().hex[:8]}"
    answers: list[tuple[float, str, int]] = []  # (when answered, data, status)
    lock = threading.Lock()
    started = time.monotonic()
    end = started + seconds

    def client(number: int) -> None:
        session, sent = requests.Session(), 0
        while time.monotonic() < end:
            data = f"{name} {number} {sent}"
            sent += 1
            try:
                status = session.post(
                    f"{broker}/log-rabbit", json={"log": {"name": name, "data": data}}, timeout=30
                ).status_code
            except requests.RequestException:
                status, session = 0, requests.Session()
            with lock:
                answers.append((time.monotonic(), data, status))

    with ThreadPoolExecutor(FAILOVER_CLIENTS) as pool:
        for number in range(FAILOVER_CLIENTS):
            pool.submit(client, number)
        time.sleep(seconds / 3)
        stop_began = time.monotonic()
        leader.stop()
        stopped_in = time.monotonic() - stop_began
        time.sleep(max(started + 2 * seconds / 3 - time.monotonic(), 0))
        leader.start()
    accepted = {data for _, data, status in answers if status == 202}
    cluster.ensure_running()
    settle(collection, name, cluster.queue)
    stored = Counter(entry["data"] for entry in collection.find({"name": name}, {"data": 1}))
    ok_times = sorted(when for when, _, status in answers if status == 202)
    gap = max((b - a for a, b in itertools.pairwise(ok_times)), default=0.0)
    statuses = Counter(status for _, _, status in answers)
    shown = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
    return [
        f"Failover: {FAILOVER_CLIENTS} clients for {seconds} s, the leader of "
        f"{LISTENER_QUEUE_NAME} stopped at {seconds / 3:.0f} s (it took {stopped_in:.1f} s to "
        f"stop) and started again at {2 * seconds / 3:.0f} s: {shown}; longest time without a "
        f"202: {gap * 1000:.0f} ms; accepted {len(accepted)}, "
        f"stored {len(accepted & stored.keys())}, lost {len(accepted - stored.keys())}, "
        f"stored twice "
        f"{sum(1 for count in stored.values() if count > 1)}",
    ]


def report(seconds: int = 10, failover_seconds: int = 30) -> list[str]:
    """The cluster section of the benchmark, as Markdown lines."""
    mongo = pymongo.MongoClient(MONGO_URI)
    collection = mongo[DATABASE]["logs"]
    env = {"MONGO_DATABASE": DATABASE, "LOG_LEVEL": "WARNING"}
    lines = [
        "",
        f"RabbitMQ path, one private node against a private 3-node cluster (quorum queues), "
        f"wrk {seconds} s per row:",
        "",
        "| RabbitMQ | concurrency | req/s | p50 ms | p99 ms | errors | accepted | stored |",
        "|---|---|---|---|---|---|---|---|",
    ]
    try:
        with RabbitNode.private() as node, System({**env, "AMQP_URI": node.amqp_uri}) as system:
            lines += throughput("1 node", seconds, collection, node.queue, system.url)
        with RabbitCluster() as cluster, System({**env, "AMQP_URI": cluster.amqp_uri}) as system:
            lines += throughput("3-node cluster", seconds, collection, cluster.queue, system.url)
            lines += ["", *failover(cluster, failover_seconds, collection, system.url)]
            print(lines[-1], flush=True)
    finally:
        mongo.drop_database(DATABASE)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per load run")
    parser.add_argument("--failover", type=int, default=30, help="seconds of the failover run")
    args = parser.parse_args()
    print("\n".join(report(args.seconds, args.failover)))


if __name__ == "__main__":
    main()
