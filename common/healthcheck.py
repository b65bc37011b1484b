"""Container health checks: `python -m common.healthcheck CHECK [CHECK...]`, exit 0 when all pass.

Every image's HEALTHCHECK and the Kubernetes exec probes run this, every few seconds, in every
container: it imports only the standard library (no Nameko, ~30 ms to start) and talks to nothing
but the service's own sockets. Addresses come from the same env vars the service's config.yaml
reads, so a check follows the service wherever it is configured to listen.

Checks:
  amqp              the process holds an established TCP connection to RabbitMQ (the port of
                    `AMQP_URI`, or of any node when it lists several, separated by `;`).
                    Nameko's consumer connects at start and reconnects by itself; no
                    connection means RabbitMQ is down or not reached yet, so: not ready.
  http:VAR/PATH     GET http://127.0.0.1:<port of $VAR>PATH answers 2xx (the HTTP services' /ping).
  tcp:VAR           127.0.0.1:<port of $VAR> accepts a connection (XML-RPC).

Readiness: `http:METRICS_ADDRESS/health` (Nameko services) or `http:BROKER_ADDRESS/health` asks
the service itself, which checks what it needs (common/readiness.py: RabbitMQ, PostgreSQL,
MongoDB, SMTP) and answers 503 when one fails. The gRPC server's readiness is the standard gRPC
health check: `python -m logger.grpc_health` (Kubernetes uses its native `grpc` probe).
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 3.0
DEFAULT_AMQP_URI = "pyamqp://guest:guest@localhost"
ESTABLISHED = "01"  # TCP state in /proc/net/tcp
PROC_NET_TCP = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


class Unhealthy(Exception):
    """A check failed; the message says why (Docker keeps it in `docker inspect`)."""


def amqp_port(uri: str) -> int:
    parts = urlsplit(uri)
    if parts.port is not None:
        return parts.port
    return 5671 if parts.scheme.endswith("amqps") else 5672


def amqp_ports(uri: str) -> set[int]:
    """The AMQP ports of every node `uri` lists (kombu's failover syntax: `url;url;...`)."""
    return {amqp_port(url.strip()) for url in uri.split(";") if url.strip()}


def established_remote_ports(tables: Iterable[Path] = PROC_NET_TCP) -> set[int]:
    """Remote ports of this network namespace's established TCP connections."""
    ports = set()
    for table in tables:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            remote, state = fields[2], fields[3]
            if state == ESTABLISHED:
                ports.add(int(remote.rsplit(":", 1)[1], 16))
    return ports


def local_target(variable: str) -> tuple[str, int]:
    """Where to reach a server configured to listen on `$variable` (`host:port`) from inside."""
    address = os.environ.get(variable)
    if not address:
        raise Unhealthy(f"{variable} is not set")
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return host, int(port)


def check_amqp() -> None:
    ports = amqp_ports(os.environ.get("AMQP_URI", DEFAULT_AMQP_URI))
    if not ports & established_remote_ports():
        shown = ", ".join(str(port) for port in sorted(ports))
        raise Unhealthy(f"no connection to RabbitMQ (port {shown})")


def check_http(argument: str) -> None:
    variable, slash, path = argument.partition("/")
    host, port = local_target(variable)
    url = f"http://{host}:{port}{slash}{path}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        raise Unhealthy(f"GET {url}: {exc}") from None
    if not 200 <= status < 300:
        raise Unhealthy(f"GET {url}: HTTP {status}")


def check_tcp(variable: str) -> None:
    host, port = local_target(variable)
    try:
        socket.create_connection((host, port), timeout=TIMEOUT_SECONDS).close()
    except OSError as exc:
        raise Unhealthy(f"connect {host}:{port}: {exc}") from None


def parse(check: str) -> tuple[str, str]:
    """`http:VAR/PATH` -> ("http", "VAR/PATH"); `amqp` -> ("amqp", ""). Unhealthy if malformed."""
    kind, _, argument = check.partition(":")
    if kind not in ("amqp", "http", "tcp") or (kind == "amqp") == bool(argument):
        raise Unhealthy(f"unknown check {check!r} (see `python -m common.healthcheck --help`)")
    return kind, argument


def run_check(check: str) -> None:
    kind, argument = parse(check)
    if kind == "amqp":
        check_amqp()
    elif kind == "http":
        check_http(argument)
    else:
        check_tcp(argument)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(__doc__ or "")
        return 0 if argv else 2
    try:
        for check in argv:
            run_check(check)
    except Unhealthy as exc:
        sys.stderr.write(f"unhealthy: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
