"""`scripts/rabbit_cluster.sh` (make cluster / cluster-down), run for real on ports of its own."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

from kombu import Connection

from testing.rabbit_processes import make_workdir

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "rabbit_cluster.sh"


def free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base() -> int:
    """A base whose nine ports (AMQP, management, distribution of three nodes) are all free."""
    for base in range(20100, 25000, 10):
        if all(free(base + offset + i) for offset in (0, 10000, 20000) for i in (1, 2, 3)):
            return base
    raise RuntimeError("no free port range for the cluster")


def test_up_is_idempotent_and_down_stops_what_up_started() -> None:
    workdir = make_workdir()
    base = free_base()
    name = f"ts{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "RABBIT_CLUSTER_BASE": str(base),
        "RABBIT_CLUSTER_DIR": str(workdir),
        "RABBIT_CLUSTER_NAME": name,
    }

    def run(command: str) -> str:
        result = subprocess.run(
            [str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    try:
        first = run("up")
        assert first.count("starting") == 3
        uri = re.search(r"^AMQP_URI='(.+)'$", first, re.MULTILINE).group(1)
        assert uri.count(";") == 2 and f"127.0.0.1:{base + 1}" in uri

        second = run("up")
        assert "starting" not in second and second.count("already runs") == 3

        with Connection(uri) as connection:
            connection.ensure_connection(max_retries=1)
        status = run("status")
        running = next(line for line in status.splitlines() if "running:" in line)
        assert all(f"{name}-{i}@localhost" in running for i in (1, 2, 3))
    finally:
        run("down")

    assert not list(workdir.glob("*/pid"))
    assert all(free(base + i) for i in (1, 2, 3))
    shutil.rmtree(workdir, ignore_errors=True)
