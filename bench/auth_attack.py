"""Sign-ins under a password-guessing attack (issue 10): an attacker sends wrong passwords at a
steady rate from one address while legitimate users sign in from others; prints their success
rate and latency, `GET /ping` latency meanwhile, and how deep auth's bcrypt queue got; first
without the attacker (the baseline of this machine at this moment), then with it.

    python -m bench.auth_attack [--rate 50] [--seconds 30] [--legit-rate 2]

It starts its own broker and auth (`nameko run`) on a free port, a private RabbitMQ vhost and a
PostgreSQL database of its own (both removed afterwards), so it runs beside anything else. The
broker trusts 127.0.0.1 as a proxy (TRUSTED_PROXIES), which lets this one machine play several
client addresses through X-Forwarded-For: the attacker is 203.0.113.66, each legitimate user
198.51.100.<n>. The attacker tries a new email each time (credential stuffing, no account
lock-out to hit), so it is the per-address limit that stops it. Needs wrk for /ping.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import quote

import psycopg2
import requests

from auth.migrate import migrate
from auth.passwords import UNKNOWN_USER_HASH, check_password, hash_password
from bench.wrk import run_wrk
from common.config import ROOT
from testing.infrastructure import POSTGRES_ADMIN_URI
from testing.ports import free_port, wait_for_port

NAMEKO = Path(sys.executable).parent / "nameko"
MANAGEMENT = "http://127.0.0.1:15672/api"
GUEST = ("guest", "guest")
ATTACKER = "203.0.113.66"
LEGIT_PASSWORD = "a-legitimate-password"
PEAK = re.compile(r"bcrypt queue: (\d+) waiting")


@contextmanager
def private_vhost() -> str:
    name = f"bench_auth_{uuid.uuid4().hex[:8]}"
    quoted = quote(name, safe="")
    requests.put(f"{MANAGEMENT}/vhosts/{quoted}", auth=GUEST, timeout=10).raise_for_status()
    permissions = {"configure": ".*", "write": ".*", "read": ".*"}
    requests.put(
        f"{MANAGEMENT}/permissions/{quoted}/guest", json=permissions, auth=GUEST, timeout=10
    ).raise_for_status()
    try:
        yield f"pyamqp://guest:guest@127.0.0.1:5672/{quoted}"
    finally:
        requests.delete(f"{MANAGEMENT}/vhosts/{quoted}", auth=GUEST, timeout=10)


@contextmanager
def private_database(legit_users: int) -> str:
    name = f"users_bench_{uuid.uuid4().hex[:8]}"
    base = POSTGRES_ADMIN_URI.rsplit("/", 1)[0]
    uri = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg2://", 1)
    migrate(uri)
    hashed = hash_password(LEGIT_PASSWORD)  # cost 12, as real accounts
    connection = psycopg2.connect(uri.replace("+psycopg2", ""))
    with connection, connection.cursor() as cursor:
        for number in range(legit_users):
            cursor.execute(
                "INSERT INTO users (email, first_name, last_name, password, user_active)"
                " VALUES (%s, 'Legit', 'User', %s, 1)",
                (f"legit-{number}@example.com", hashed),
            )
    connection.close()
    try:
        yield uri
    finally:
        admin = psycopg2.connect(POSTGRES_ADMIN_URI)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@contextmanager
def service(name: str, env: dict[str, str], log: IO[bytes], port: int | None = None):
    process = subprocess.Popen(
        [str(NAMEKO), "run", "--config", f"{name}/config.yaml", f"{name}.service"],
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        if port is not None:
            wait_for_port(port, 60, process=process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def paced(rate: float, seconds: float, stop: threading.Event, send) -> None:
    """Call `send(n)` `rate` times a second for `seconds`, each in a pool thread (open loop)."""
    with ThreadPoolExecutor(max_workers=64) as pool:
        started = time.monotonic()
        number = 0
        while not stop.is_set():
            due = started + number / rate
            if due > started + seconds:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(send, number)
            number += 1


_sessions = threading.local()


def sign_in(broker: str, email: str, password: str, address: str) -> tuple[int, float]:
    """One sign-in on this thread's kept-alive connection: the client's own CPU stays small."""
    session = getattr(_sessions, "session", None) or requests.Session()
    _sessions.session = session
    started = time.monotonic()
    try:
        response = session.post(
            f"{broker}/handle",
            json={"action": "auth", "auth": {"email": email, "password": password}},
            headers={"X-Forwarded-For": address},
            timeout=10,
        )
        status = response.status_code
    except requests.RequestException:
        status = 0
    return status, time.monotonic() - started


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50, help="attacker attempts per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--legit-rate", type=float, default=0.5, help="legitimate sign-ins/s")
    parser.add_argument("--legit-users", type=int, default=20)
    args = parser.parse_args()

    started = time.monotonic()
    check_password("x", UNKNOWN_USER_HASH)
    bcrypt_ms = (time.monotonic() - started) * 1000
    port = free_port()
    broker = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        amqp_uri = stack.enter_context(private_vhost())
        database = stack.enter_context(private_database(args.legit_users))
        auth_log = stack.enter_context(tempfile.NamedTemporaryFile(suffix=".log"))
        broker_log = stack.enter_context(tempfile.NamedTemporaryFile(suffix=".log"))
        stack.enter_context(
            service("auth", {"AMQP_URI": amqp_uri, "DATABASE_URI": database}, auth_log)
        )
        broker_env = {
            "AMQP_URI": amqp_uri,
            "BROKER_ADDRESS": f"127.0.0.1:{port}",
            "TRUSTED_PROXIES": "127.0.0.1",
        }
        stack.enter_context(service("broker", broker_env, broker_log, port))
        # auth is up once a sign-in answers (its RPC queue exists only then).
        deadline = time.monotonic() + 60
        while sign_in(broker, "legit-0@example.com", LEGIT_PASSWORD, "198.51.100.250")[0] != 202:
            if time.monotonic() > deadline:
                raise SystemExit("auth did not answer within 60 s")
            time.sleep(0.5)

        baseline = run_phase(broker, args, attack_rate=0)
        attacked = run_phase(broker, args, attack_rate=args.rate)
        auth_log.seek(0)
        peaks = [int(found) for found in PEAK.findall(auth_log.read().decode(errors="replace"))]

    print(f"one bcrypt check (cost 12) on this machine at the start: {bcrypt_ms:.0f} ms")
    for label, phase in (("without attacker", baseline), ("under attack", attacked)):
        print(f"--- {label}, {args.seconds:g} s ---")
        report(phase, args)
    print(
        f"bcrypt queue: at most {max(peaks, default=0)} waiting over both phases "
        "(bound BCRYPT_QUEUE_LIMIT, auth/config.yaml)"
    )


def run_phase(broker: str, args: argparse.Namespace, attack_rate: float) -> dict:
    attacker: list[tuple[int, float]] = []
    legit: list[tuple[int, float]] = []
    stop = threading.Event()
    run_id = uuid.uuid4().hex[:6]

    def attack(number: int) -> None:
        email = f"guess-{run_id}-{number}@example.com"
        attacker.append(sign_in(broker, email, "wrong", ATTACKER))

    def legitimate(number: int) -> None:
        user = number % args.legit_users
        address = f"198.51.100.{user + 1}"
        legit.append(sign_in(broker, f"legit-{user}@example.com", LEGIT_PASSWORD, address))

    threads = [
        threading.Thread(target=paced, args=(args.legit_rate, args.seconds, stop, legitimate))
    ]
    if attack_rate:
        threads.append(
            threading.Thread(target=paced, args=(attack_rate, args.seconds, stop, attack))
        )
    for thread in threads:
        thread.start()
    time.sleep(2)  # under way
    ping = run_wrk(f"{broker}/ping", connections=4, seconds=max(1, int(args.seconds) - 4))
    for thread in threads:
        thread.join()
    return {"attacker": attacker, "legit": legit, "ping": ping}


def report(phase: dict, args: argparse.Namespace) -> None:
    attacker, legit, ping = phase["attacker"], phase["legit"], phase["ping"]
    if attacker:
        statuses = Counter(status for status, _ in attacker)
        throttled = [seconds * 1000 for status, seconds in attacker if status == 429]
        print(f"attacker: {len(attacker)} wrong passwords from {ATTACKER}")
        print(f"  statuses: {dict(sorted(statuses.items()))}")
        if throttled:
            print(
                f"  429 answers: p50 {statistics.median(throttled):.1f} ms, "
                f"p99 {percentile(throttled, 0.99):.1f} ms"
            )
    ok = [seconds * 1000 for status, seconds in legit if status == 202]
    statuses = Counter(status for status, _ in legit)
    rate = 100 * len(ok) / len(legit) if legit else 0.0
    print(f"legitimate: {len(legit)} sign-ins from {args.legit_users} other addresses")
    print(f"  statuses: {dict(sorted(statuses.items()))}, success {rate:.1f}%", end="")
    if ok:
        print(f", p50 {statistics.median(ok):.0f} ms, p99 {percentile(ok, 0.99):.0f} ms")
    else:
        print()
    print(
        f"GET /ping (wrk, 4 connections): {ping.requests_per_second:.0f} req/s, "
        f"p50 {ping.p50_ms:.1f} ms, p99 {ping.p99_ms:.1f} ms, {ping.errors} errors"
    )


if __name__ == "__main__":
    main()
