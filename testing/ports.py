"""Local TCP ports: one that is free now, and waiting until something listens on one.

Standard library and psutil only, no eventlet: the benchmarks use these too, in a process that is
not monkey-patched.
"""

from __future__ import annotations

import socket
import subprocess
import time

import psutil

LOCALHOST = "127.0.0.1"


class ProcessExited(RuntimeError):
    """The process that was to listen exited first."""


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick; free until someone binds it)."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def port_answers(port: int, host: str = LOCALHOST) -> bool:
    """Whether a TCP connection to host:port is accepted."""
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def listens(process: subprocess.Popen, port: int) -> bool:
    """Whether `process` itself has a listening socket on `port`."""
    return any(
        connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
        for connection in psutil.Process(process.pid).net_connections(kind="tcp")
    )


def wait_for_port(
    port: int,
    seconds: float = 30,
    *,
    process: subprocess.Popen | None = None,
    host: str = LOCALHOST,
) -> None:
    """Return once something accepts connections on host:port.

    With `process`: once that process itself listens on `port` (several processes can share a
    port with SO_REUSEPORT, so a connection proves nothing about a given one), and raise
    `ProcessExited` as soon as it exits. `seconds` bounds the wait (a bound, not a SLA).
    """
    deadline = time.monotonic() + seconds
    while True:
        if process is not None and process.poll() is not None:
            raise ProcessExited(
                f"{process.args!r} exited ({process.returncode}) before listening on :{port}"
            )
        if listens(process, port) if process is not None else port_answers(port, host):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {seconds} s")
        time.sleep(0.05)
