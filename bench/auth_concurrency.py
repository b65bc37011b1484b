"""Does bcrypt block the broker's event loop? Measures `GET /ping` with wrk, first idle, then
while 8 authentications are in flight at all times (a thread pool keeps them going).

    python bench/auth_concurrency.py --broker http://localhost:8080 --seconds 10

Needs a running system (`make run`) and wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.wrk import run_wrk

AUTH = {"action": "auth", "auth": {"email": "admin@example.com", "password": "verysecret"}}


def keep_authenticating(url: str, stop: threading.Event, results: list[int]) -> None:
    with requests.Session() as session:
        while not stop.is_set():
            results.append(session.post(f"{url}/handle", json=AUTH, timeout=30).status_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="http://localhost:8080")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--auth-concurrency", type=int, default=8)
    args = parser.parse_args()

    idle = run_wrk(f"{args.broker}/ping", connections=4, seconds=args.seconds)

    stop, statuses = threading.Event(), []
    with ThreadPoolExecutor(args.auth_concurrency) as pool:
        for _ in range(args.auth_concurrency):
            pool.submit(keep_authenticating, args.broker, stop, statuses)
        time.sleep(1)  # let the authentications get going
        loaded = run_wrk(f"{args.broker}/ping", connections=4, seconds=args.seconds)
        stop.set()

    accepted = statuses.count(202)
    print(f"GET /ping, 4 connections, {args.seconds} s each (wrk)")
    print(f"{'condition':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for label, result in (
        ("idle", idle),
        (f"{args.auth_concurrency} authentications in flight", loaded),
    ):
        print(
            f"{label:<34}{result.requests_per_second:>10.0f}{result.p50_ms:>10.1f}"
            f"{result.p99_ms:>10.1f}{result.errors:>8}"
        )
    print(
        f"authentications meanwhile: {len(statuses)} ({accepted} accepted, "
        f"{len(statuses) - accepted} other), {len(statuses) / (args.seconds + 1):.1f}/s"
    )


if __name__ == "__main__":
    main()
