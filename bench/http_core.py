"""CPU per request of the broker process on the old HTTP server (Nameko's eventlet.wsgi, the
`main` branch) and on the HTTP core (`common.web`, this tree), side by side in one run.

    python -m bench.http_core [--seconds 10] [--rounds 1] [--ref main] [--new-env KEY=VALUE ...]

Both brokers run as `nameko run` processes on free ports at once, on a RabbitMQ vhost of their own
(created and deleted here, so no listener of `make run` sees the events), with the access log off
as in `make run`. Rows alternate between the two, so drift on a shared machine hits both alike.
For each row: wrk for `--seconds`, then the broker's CPU time over the run (user + system, from
psutil) divided by the requests wrk completed. Nothing else needs to run: only RabbitMQ.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests
import yaml

from bench.system import wait_for_port
from bench.wrk import run_wrk
from common.config import ROOT, load_config

MANAGEMENT = os.environ.get("RABBIT_MANAGEMENT", "http://guest:guest@127.0.0.1:15672")
AMQP_BASE = os.environ.get("AMQP_BASE", "pyamqp://guest:guest@127.0.0.1:5672")
ROWS = [
    ("GET /ping", "GET", "/ping", ""),
    ("POST /log-rabbit", "POST", "/log-rabbit", json.dumps({"log": {"name": "n", "data": "x"}})),
]
CONCURRENCIES = (1, 64)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def private_vhost() -> Iterator[str]:
    vhost = f"bench-http-{uuid.uuid4().hex[:8]}"
    api = f"{MANAGEMENT}/api"
    requests.put(f"{api}/vhosts/{vhost}", timeout=10).raise_for_status()
    try:
        permissions = {"configure": ".*", "write": ".*", "read": ".*"}
        requests.put(f"{api}/permissions/{vhost}/guest", json=permissions, timeout=10)
        yield f"{AMQP_BASE}/{vhost}"
    finally:
        requests.delete(f"{api}/vhosts/{vhost}", timeout=30)


def export_tree(ref: str, folder: Path) -> Path:
    """The files of `ref` (no checkout: nobody's work tree changes)."""
    archive = folder / "tree.tar"
    subprocess.run(["git", "archive", "-o", str(archive), ref], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"


@contextmanager
def broker(
    tree: Path, amqp_uri: str, folder: Path, name: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    port = free_port()
    config = load_config(tree / "broker" / "config.yaml")
    config.update(AMQP_URI=amqp_uri, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config", str(path), "broker.service"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).raise_for_status()
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def measure(url: str, pid: int, method: str, path: str, body: str, concurrency: int, seconds: int):
    run_wrk(url + path, connections=concurrency, seconds=1, method=method, body=body)  # warm up
    before = cpu_seconds(pid)
    result = run_wrk(url + path, connections=concurrency, seconds=seconds, method=method, body=body)
    used = cpu_seconds(pid) - before
    return result, used * 1000 / max(result.ok, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per row")
    parser.add_argument("--rounds", type=int, default=3, help="times each row is measured")
    parser.add_argument("--ref", default="main", help="git ref with the old server")
    parser.add_argument(
        "--new-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment of this tree's broker only (e.g. LOG_FORMAT=json)",
    )
    args = parser.parse_args()
    new_env = dict(item.split("=", 1) for item in args.new_env)

    header = (
        "| row | c | old req/s | new req/s | old p99 ms | new p99 ms "
        "| old CPU ms/req | new CPU ms/req | new/old |"
    )
    rule = "|---|---|---|---|---|---|---|---|---|"
    figures: dict[tuple[str, int], list[tuple[float, ...]]] = {}
    with tempfile.TemporaryDirectory() as tmp, private_vhost() as amqp_uri:
        folder = Path(tmp)
        old_tree = export_tree(args.ref, folder)
        with (
            broker(old_tree, amqp_uri, folder, "old") as (old_url, old_pid),
            broker(ROOT, amqp_uri, folder, "new", new_env) as (new_url, new_pid),
        ):
            time.sleep(1)
            print(header, rule, sep="\n", flush=True)
            for _ in range(args.rounds):
                for label, method, path, body in ROWS:
                    for concurrency in CONCURRENCIES:
                        row = []
                        for url, pid in ((old_url, old_pid), (new_url, new_pid)):
                            result, cpu = measure(
                                url, pid, method, path, body, concurrency, args.seconds
                            )
                            row.append((result.requests_per_second, result.p99_ms, cpu))
                            if result.errors:
                                print(f"{label} c={concurrency}: {result.errors} errors")
                        (old_rps, old_p99, old_cpu), (new_rps, new_p99, new_cpu) = row
                        figures.setdefault((label, concurrency), []).append(
                            (old_rps, new_rps, old_p99, new_p99, old_cpu, new_cpu)
                        )
                        print(format_row(label, concurrency, figures[label, concurrency][-1]))
    print(f"\nMedians of {args.rounds} rounds of {args.seconds} s:", header, rule, sep="\n")
    for (label, concurrency), rounds in figures.items():
        medians = tuple(statistics.median(column) for column in zip(*rounds, strict=True))
        print(format_row(label, concurrency, medians))


def format_row(label: str, concurrency: int, row: tuple[float, ...]) -> str:
    old_rps, new_rps, old_p99, new_p99, old_cpu, new_cpu = row
    return (
        f"| {label} | {concurrency} | {old_rps:.0f} | {new_rps:.0f} | {old_p99:.1f} "
        f"| {new_p99:.1f} | {old_cpu:.3f} | {new_cpu:.3f} | {new_cpu / old_cpu:.2f} |"
    )


if __name__ == "__main__":
    main()
