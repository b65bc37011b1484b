"""The whole system under supervisord, as `make run` starts it (scripts/supervise.py), for tests
and benchmarks: its settings from the environment given, its state (config, pid file, socket, logs)
in a directory of the caller's. Whatever happens, leaving the context stops supervisord and every
process it started.

Standard library and psutil only, no eventlet: the benchmarks use this too.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SUPERVISE = ROOT / "scripts" / "supervise.py"
GROUP = "system"


def procfile() -> dict[str, str]:
    """What each program of the system runs: the Procfile (supervise.py's and the images' list)."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


@dataclass
class Supervised:
    process: subprocess.Popen
    state: Path
    output_path: Path  # supervisord's stdout and stderr: its own log and every prefixed line

    @property
    def pid_file(self) -> Path:
        return self.state / "supervisord.pid"

    @property
    def socket(self) -> Path:
        return self.state / "supervisor.sock"

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def ctl(self, *arguments: str) -> str:
        """supervisorctl's answer (its exit status says little: non-zero for a stopped program)."""
        result = subprocess.run(
            [sys.executable, str(SUPERVISE), "ctl", *arguments],
            env={**os.environ, "SUPERVISE_STATE": str(self.state)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout

    def states(self) -> dict[str, tuple[str, int]]:
        """Every program's supervisord state and pid (0 when it runs no process)."""
        found = {}
        for line in self.ctl("status").splitlines():
            name, state, *rest = line.split()
            pid = int(rest[1].rstrip(",")) if state == "RUNNING" else 0
            found[name.removeprefix(f"{GROUP}:")] = (state, pid)
        return found

    def pid(self, program: str) -> int:
        """The pid of a program's process, starting or running (0 if it has none right now)."""
        answer = self.ctl("pid", f"{GROUP}:{program}").strip()
        return int(answer) if answer.isdigit() else 0

    def processes(self) -> list[psutil.Process]:
        """supervisord's processes: the programs and their own children."""
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> float:
        """Signal supervisord and wait until it has exited: the seconds it took. Anything still
        running after `timeout` (supervisord or one of its processes) is killed."""
        started = time.monotonic()
        left = self.processes()
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        elapsed = time.monotonic() - started
        for process in left:
            with suppress(psutil.NoSuchProcess):
                process.kill()
        return elapsed


def stop_with_parent() -> None:
    """preexec_fn: the kernel sends supervisord SIGTERM (it then stops everything it started)
    when the thread that started it exits, e.g. a test process killed by its timeout."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@contextmanager
def supervised_system(env: dict[str, str], state: Path) -> Iterator[Supervised]:
    """`python scripts/supervise.py run` with `env` over this process's environment and its
    state in `state` (keep the path short: it holds a Unix socket)."""
    state.mkdir(parents=True, exist_ok=True)
    output_path = state / "output.log"
    with output_path.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(SUPERVISE), "run"],
            cwd=ROOT,
            env={**os.environ, "PYTHONWARNINGS": "ignore", **env, "SUPERVISE_STATE": str(state)},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C meant for the caller is not supervisord's
            preexec_fn=stop_with_parent,
        )
    supervised = Supervised(process, state, output_path)
    try:
        yield supervised
    finally:
        supervised.stop()
