"""Where a process's CPU goes under load: py-spy on one service while wrk drives a log route.

    python -m bench.profile [--route /log-grpc] [--concurrency 64] [--seconds 15]
                            [--process broker.1] [--top 25] [--shared-infra]

Starts the system as `make bench` does (private RabbitMQ and SecantusDB), runs wrk against
`--route` and records `--process` (a name as in `make bench`: broker.1, logger, logger_grpc,
listener) with py-spy, non-blocking (the process is never paused) at 200 samples/s. Prints the
functions that hold the most samples, inclusive (the function and what it calls) and by itself,
and writes the collapsed stacks to bench/results/profile-<process>.txt (for flamegraph.pl or
speedscope).
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import subprocess
import sys
from pathlib import Path

from bench.infra import infrastructure
from bench.system import System
from bench.wrk import run_wrk

RESULTS = Path(__file__).resolve().parent / "results"


def summarise(stacks: Path, top: int) -> str:
    """The `top` functions by inclusive and by own samples, as shares of all samples."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        # py-spy sometimes reads a frame's name as garbage with line breaks (a docstring): skip
        # the pieces of such a line rather than fail on them.
        if not frames or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        names = [_short(frame) for frame in frames.split(";")]
        for name in set(names):
            inclusive[name] += samples
        own[names[-1]] += samples
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "own:"]
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """`function (path/to/module.py:line)` -> `function (module.py)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':', 1)[0]})" if where else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--route", default="/log-grpc")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--process", default="broker.1")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--shared-infra", action="store_true")
    args = parser.parse_args()

    RESULTS.mkdir(exist_ok=True)
    stacks = RESULTS / f"profile-{args.process}.txt"
    body = json.dumps({"log": {"name": "profile", "data": "x" * 100}})
    with infrastructure(args.shared_infra) as infra:
        env = {"MONGO_URI": infra.mongo_uri, "AMQP_URI": infra.amqp_uri, "LOG_LEVEL": "WARNING"}
        env["MONGO_DATABASE"] = "logs_profile"
        with System(env) as system:
            url = system.url + args.route
            run_wrk(url, connections=args.concurrency, seconds=2, method="POST", body=body)
            pid = system.pid_of(args.process)
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking",
                 "--rate", "200", "--format", "raw", "--output", str(stacks),
                 "--duration", str(args.seconds), "--pid", str(pid)],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            result = run_wrk(
                url, connections=args.concurrency, seconds=args.seconds, method="POST", body=body
            )
            try:
                spy.wait(args.seconds + 15)
            except subprocess.TimeoutExpired:  # it may outlive --duration: Ctrl-C makes it write
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
    print(f"{args.route} c={args.concurrency}: {result.requests_per_second:.0f} req/s, "
          f"p99 {result.p99_ms:.1f} ms; {args.process}:")  # fmt: skip
    print(summarise(stacks, args.top))


if __name__ == "__main__":
    main()
