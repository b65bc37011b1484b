"""The whole system as `make run` starts it (supervisord, scripts/supervise.py), for benchmarks,
plus a sampler of every service process's resident memory."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from testing.ports import free_port, port_answers, wait_for_port
from testing.supervised import Supervised, supervised_system

ROOT = Path(__file__).resolve().parent.parent
# Its own supervisord state, so that a benchmark never touches `make run`'s.
STATE = ROOT / ".local" / "supervise-bench"


class System:
    """`make run`'s supervisord in the background, every service on a free port (so a benchmark
    never meets `make run` or another benchmark on :8080); `broker_processes` brokers share
    theirs (SO_REUSEPORT). `url` is the broker's."""

    def __init__(self, env: dict[str, str], broker_processes: int = 1, root: Path = ROOT) -> None:
        """`root`: the tree whose services run (another git ref's files, exported; the venv and
        scripts/supervise.py are this tree's)."""
        self.ports = {
            "broker": free_port(),
            "logger XML-RPC": free_port(),
            "logger gRPC": free_port(),
            "test page": free_port(),
        }
        self.url = f"http://127.0.0.1:{self.ports['broker']}"
        xmlrpc, grpc = self.ports["logger XML-RPC"], self.ports["logger gRPC"]
        self.env = {
            "BROKER_ADDRESS": f"127.0.0.1:{self.ports['broker']}",
            "BROKER_URL": self.url,
            "GATEWAY_UI_ADDRESS": f"127.0.0.1:{self.ports['test page']}",
            "LOGGER_XMLRPC_ADDRESS": f"127.0.0.1:{xmlrpc}",
            "LOGGER_XMLRPC_URL": f"http://127.0.0.1:{xmlrpc}/",
            "LOGGER_GRPC_ADDRESS": f"127.0.0.1:{grpc}",
            "LOGGER_GRPC_TARGET": f"127.0.0.1:{grpc}",
            **env,
            "BROKER_PROCESSES": str(broker_processes),
            "SUPERVISE_ROOT": str(root),
            "PYTHONPATH": str(root),
        }
        self.stack = ExitStack()
        self.supervised: Supervised | None = None

    def __enter__(self) -> System:
        for name, port in self.ports.items():
            if port_answers(port):
                raise SystemExit(f":{port} ({name}) is taken")
        self.supervised = self.stack.enter_context(supervised_system(self.env, STATE))
        try:
            for port in self.ports.values():
                wait_for_port(port, seconds=60)
            requests.get(f"{self.url}/ping", timeout=5).raise_for_status()
        except BaseException:
            self.__exit__()
            raise
        time.sleep(2)  # the listener and logger declare their queues
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stack.close()

    def processes(self) -> dict[str, psutil.Process]:
        """Each service's process by a readable name (broker.1, logger_grpc, ...)."""
        found: dict[str, psutil.Process] = {}
        counts: dict[str, int] = {}
        for process in self.supervised.processes():
            cmdline = " ".join(process.cmdline())
            if "grpc_server" in cmdline:
                name = "logger_grpc"
            elif "--config " in cmdline:
                name = cmdline.split("--config ", 1)[-1].split("/", 1)[0]
            else:  # supervisord's log printer
                continue
            counts[name] = counts.get(name, 0) + 1
            found[f"{name}.{counts[name]}" if name == "broker" else name] = process
        return found

    def pid_of(self, name: str) -> int:
        return self.processes()[name].pid


@dataclass
class MemoryTrace:
    first: int = 0
    peak: int = 0
    last: int = 0
    marks: dict[str, int] = field(default_factory=dict)


class RssSampler(threading.Thread):
    """Samples every service process's RSS twice a second until stopped."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        super().__init__(daemon=True)
        self.processes = processes
        self.traces = {name: MemoryTrace() for name in processes}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(0.5)

    def sample(self) -> None:
        for name, process in self.processes.items():
            try:
                rss = process.memory_info().rss
            except psutil.Error:
                continue
            trace = self.traces[name]
            trace.first = trace.first or rss
            trace.peak = max(trace.peak, rss)
            trace.last = rss

    def mark(self, label: str) -> None:
        self.sample()
        for trace in self.traces.values():
            trace.marks[label] = trace.last

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
