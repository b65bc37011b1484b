"""The private RabbitMQ node helper: its lifecycle, and that nothing it starts outlives a run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kombu import Connection, Queue

from testing.rabbit_nodes import RabbitNode
from testing.rabbit_processes import make_workdir

ROOT = Path(__file__).resolve().parents[2]
# A test run that starts a node, says which, and waits to be interrupted.
RUN = """
from testing.rabbit_nodes import RabbitNode
node = RabbitNode.private()
node.start()
print(node.process.pid, node.directory, flush=True)
import time; time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child of a dead parent is reaped by init; until then it is a zombie.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def wait_gone(pid: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_node_restarts_its_application_and_its_process_keeping_its_data(
    rabbit_node: RabbitNode,
) -> None:
    queue = Queue(f"test-durable-{os.getpid()}", durable=True)
    with Connection(rabbit_node.amqp_uri) as connection:
        queue(connection.default_channel).declare()

    rabbit_node.stop_app()
    assert rabbit_node.running and not rabbit_node.ready()
    rabbit_node.start_app()
    assert rabbit_node.ready()

    beam = rabbit_node.process.pid
    rabbit_node.kill()
    assert wait_gone(beam, 5)
    rabbit_node.ensure_running()
    assert rabbit_node.queue(queue.name).type == "classic"  # the data directory survived


def test_nothing_outlives_an_interrupted_test_run() -> None:
    base = Path(tempfile.mkdtemp())  # pytest's tmp_path is private to root; rabbitmq runs nodes
    base.chmod(0o755)
    env = {**os.environ, "RABBIT_NODES_DIR": str(base)}
    runs = {
        sig: subprocess.Popen(
            [sys.executable, "-c", RUN], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for sig in (signal.SIGTERM, signal.SIGKILL)
    }
    try:
        nodes = {sig: run.stdout.readline().split() for sig, run in runs.items()}
        for sig, run in runs.items():
            run.send_signal(sig)
            run.wait(30)

        term_pid, term_dir = nodes[signal.SIGTERM]
        assert wait_gone(int(term_pid))  # the SIGTERM handler killed it
        assert not Path(term_dir).exists()  # and removed its directory

        kill_pid, kill_dir = nodes[signal.SIGKILL]
        assert wait_gone(int(kill_pid))  # the kernel killed it (PR_SET_PDEATHSIG)
        assert Path(kill_dir).exists()  # nobody was left to remove its directory...
        os.environ["RABBIT_NODES_DIR"] = str(base)
        try:
            make_workdir()  # ...until the next run sweeps it
        finally:
            del os.environ["RABBIT_NODES_DIR"]
        assert not Path(kill_dir).exists()
    finally:
        for run in runs.values():
            run.kill()
        shutil.rmtree(base, ignore_errors=True)
