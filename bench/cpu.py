"""CPU time per request, per process: what holds on a shared machine when req/s does not.

Each process's user + system CPU time (psutil) is read before and after a row; the difference
divided by the requests the row completed is the CPU that one request cost that process, whether
the machine was idle or busy (other work slows a row down, it does not make a request cost more
CPU, short of cache effects). Throughput at saturation on N cores is about N x 1000 ms / the total.

What a process burns while idle (timers, heartbeats, an Erlang VM's schedulers) would otherwise
be charged to requests, more so the fewer requests a row completes: `measure_idle()` takes each
process's idle rate once, and `share()` subtracts it over the row's duration.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import psutil

# Columns in this order; other processes are summed as "other".
COLUMNS = ("broker", "logger", "logger_grpc", "listener", "rabbitmq", "secantusdb")


def cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    # Children (e.g. a RabbitMQ node's helpers) are included once they have been waited for.
    return times.user + times.system + times.children_user + times.children_system


@dataclass(frozen=True)
class CpuShare:
    """Milliseconds of CPU per request, by process."""

    by_process: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.by_process.values())

    def column(self, name: str) -> float:
        if name == "other":
            return sum(ms for key, ms in self.by_process.items() if _group(key) not in COLUMNS)
        return sum(ms for key, ms in self.by_process.items() if _group(key) == name)


def _group(name: str) -> str:
    return name.split(".", 1)[0]  # broker.1 and broker.2 are both "broker"


class CpuMeter:
    """CPU per request of a set of processes over an interval: `start()`, then `share(n)`."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self.processes = processes
        self.idle: dict[str, float] = {}  # CPU seconds per second, with nothing to do
        self._before: dict[str, float] = {}
        self._started = 0.0

    def measure_idle(self, windows: int = 5, seconds: float = 2) -> None:
        """Each process's median rate over `windows` windows: a burst of leftover work (a queue
        draining) in one window is not taken for idling. psutil counts in 10 ms ticks, so a
        window shorter than a couple of seconds reads a quiet process as 0."""
        rates: dict[str, list[float]] = {name: [] for name in self.processes}
        for _ in range(windows):
            self.start()
            time.sleep(seconds)
            for name, used in self._used().items():
                rates[name].append(used / (time.monotonic() - self._started))
        self.idle = {name: statistics.median(values) for name, values in rates.items()}

    def start(self) -> None:
        self._before = {name: cpu_seconds(p) for name, p in self.processes.items()}
        self._started = time.monotonic()

    def share(self, requests: int) -> CpuShare:
        elapsed = time.monotonic() - self._started
        net = {
            name: max(0.0, used - self.idle.get(name, 0.0) * elapsed)
            for name, used in self._used().items()
        }
        return CpuShare({name: seconds * 1000 / max(requests, 1) for name, seconds in net.items()})

    def _used(self) -> dict[str, float]:
        return {
            name: cpu_seconds(process) - self._before.get(name, 0.0)
            for name, process in self.processes.items()
        }


def cells(share: CpuShare) -> str:
    values = [share.column(name) for name in (*COLUMNS, "other")] + [share.total]
    return " | ".join(f"{value:.3f}" for value in values)
