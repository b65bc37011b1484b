"""`make bench`: the whole system under load, with the CPU each request costs every process.

For each log transport (rabbit, rpc, grpc) and concurrency, wrk POSTs log entries to the broker;
then the entries actually stored are counted (for rabbit, after the listener has drained the
queue), and each process's CPU time over the row (wrk's run plus the drain) is divided by the
requests completed: CPU ms per request per process, the figure that holds on a shared machine.
Then the listener's drain rate from a backlog, a sustained row (`--soak` s, steady state), and
every process's RSS.

RabbitMQ and SecantusDB are private servers started for the run (`bench.infra`), so their CPU is
the benchmark's alone; `--shared-infra` uses the machine's. `--compare main` runs the same rows
on the files of another git ref too, alternating systems round by round, and prints them side by
side. Quick iteration: `--seconds 5 --concurrency 64 --transports rpc --soak 0 --backlog 0`.

    python -m bench.run [--seconds 10] [--concurrency 1,16,64] [--transports rabbit,rpc,grpc]
                        [--soak 60] [--soak-transports rabbit] [--backlog 10000]
                        [--compare REF] [--rounds 1] [--brokers 1] [--shared-infra]

`--cluster` adds bench/cluster.py's section: the RabbitMQ path on one node against a 3-node
cluster, and the failover time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pymongo

from bench import cluster, cpu
from bench.infra import Infra, infrastructure
from bench.rows import Row, drain_rate, export_tree, load
from bench.system import ROOT, RssSampler, System

DATABASE = "logs_bench"
RESULTS = Path(__file__).resolve().parent / "results"


def run_tree(tree: str, root: Path, infra: Infra, args: argparse.Namespace, mongo) -> list[str]:
    """Every row on one system (the files of `root`); returns the lines of its report."""
    collection = mongo[DATABASE]["logs"]
    env = {
        "MONGO_DATABASE": DATABASE,
        "MONGO_URI": infra.mongo_uri,
        "AMQP_URI": infra.amqp_uri,
        "LOG_LEVEL": "WARNING",
    }
    lines = []
    with System(env, broker_processes=args.brokers, root=root) as system:
        processes = {**system.processes(), **infra.processes}
        meter = cpu.CpuMeter(processes)
        meter.measure_idle()
        idle = ", ".join(f"{name} {rate * 1000:.0f}" for name, rate in sorted(meter.idle.items()))
        lines.append(f"\n{tree}: idle CPU ms/s (subtracted from every row): {idle}")
        sampler = RssSampler(system.processes())
        sampler.start()
        rows = [(t, c, args.seconds) for t in args.transports for c in args.concurrency]
        rows += [(t, 64, args.soak) for t in args.soak_transports if args.soak]
        for transport, concurrency, seconds in rows:
            row = load(system, tree, transport, concurrency, seconds, collection, meter)
            lines.append(row.line())
            print(lines[-1], flush=True)
        if args.backlog:
            rate = drain_rate(system, collection, args.backlog, infra.amqp_uri)
            lines.append(f"\n{tree}: listener drain, {args.backlog} queued events: {rate:.0f}/s")
            print(lines[-1], flush=True)
        sampler.stop()
        lines += ["", f"{tree}: RSS MB (start, peak, last)", ""]
        for name, trace in sorted(sampler.traces.items()):
            figures = (trace.first, trace.peak, trace.last)
            lines.append(f"{name}: " + ", ".join(f"{rss / 2**20:.0f}" for rss in figures))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per row")
    parser.add_argument("--concurrency", type=_ints, default=(1, 16, 64))
    parser.add_argument("--transports", type=_names, default=("rabbit", "rpc", "grpc"))
    parser.add_argument("--soak", type=int, default=60, help="seconds of the sustained rows")
    parser.add_argument("--soak-transports", type=_names, default=("rabbit",))
    parser.add_argument("--backlog", type=int, default=10_000, help="0: no drain row")
    parser.add_argument("--compare", metavar="REF", help="also run the files of this git ref")
    parser.add_argument("--rounds", type=int, default=1, help="with --compare: alternations")
    parser.add_argument("--brokers", type=int, default=1, help="broker processes on one port")
    parser.add_argument("--shared-infra", action="store_true", help="the machine's RabbitMQ/DB")
    parser.add_argument("--cluster", action="store_true", help="then bench.cluster's section")
    args = parser.parse_args()

    title = (
        f"# Benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, "
        f"load average at start {os.getloadavg()[0]:.1f}, {args.brokers} broker process(es), "
        f"wrk -t1, {args.seconds} s per row, "
        f"{'shared' if args.shared_infra else 'private'} RabbitMQ and SecantusDB"
    )
    print(title, "", Row.header(), sep="\n", flush=True)
    lines: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-") as folder,
        infrastructure(args.shared_infra) as infra,
    ):
        mongo = pymongo.MongoClient(infra.mongo_uri)
        trees = [("this", ROOT)]
        if args.compare:
            trees.insert(0, (args.compare, export_tree(args.compare, Path(folder))))
        for _ in range(args.rounds if args.compare else 1):
            for tree, root in trees:
                lines += run_tree(tree, root, infra, args, mongo)
        mongo.drop_database(DATABASE)
        mongo.close()
    if args.cluster:
        lines += ["", *cluster.report(args.seconds)]
    rows = sorted((line for line in lines if line.startswith("| ")), key=Row.sort_key)
    report = "\n".join([title, "", Row.header(), *rows, *(x for x in lines if x not in rows)])
    print("\n" + report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(report + "\n")


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def _names(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


if __name__ == "__main__":
    main()
