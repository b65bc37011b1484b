"""Where private RabbitMQ nodes live, whom they run as, and how none of them outlives a test run.

Every node is tracked from its creation: `destroy_all()` kills them and removes their directories
at exit (atexit) and on SIGTERM/SIGHUP. Each server is also started with PR_SET_PDEATHSIG, so the
kernel kills it when pytest itself is SIGKILLed; its directory, named after the dead process, is
then swept by the next run's `make_workdir()`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import stat
import tempfile
from pathlib import Path
from typing import Any, Protocol

DIR_PREFIX = "rabbit-nodes-"

_tracked: list[Destroyable] = []
_workdirs: list[Path] = []
_safety_net_installed = False


class Destroyable(Protocol):
    def destroy(self) -> None: ...


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_workdir() -> Path:
    """A fresh directory for nodes, named after this process; stale ones of dead runs go."""
    base = Path(os.environ.get("RABBIT_NODES_DIR") or tempfile.gettempdir()).resolve()
    for parent in [base, *base.parents]:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise PermissionError(f"the rabbitmq user cannot reach {parent}: set RABBIT_NODES_DIR")
    for stale in base.glob(f"{DIR_PREFIX}*"):
        pid = stale.name.removeprefix(DIR_PREFIX).split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(stale, ignore_errors=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-", dir=base))
    workdir.chmod(0o755)  # the server runs as `rabbitmq` and must reach its own directory
    _workdirs.append(workdir)
    return workdir


def rabbit_account() -> tuple[dict[str, Any], str]:
    """Popen arguments that run a command as `rabbitmq`, and its home (the machine's cookie)."""
    account = pwd.getpwnam("rabbitmq")
    if os.geteuid() == account.pw_uid:
        return {}, account.pw_dir
    if os.geteuid() != 0:
        raise PermissionError("private RabbitMQ nodes need root or the rabbitmq user")
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}, account.pw_dir


def die_with_parent() -> None:
    """preexec_fn: the kernel SIGKILLs the child when the thread that started it exits."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def track(node: Destroyable) -> None:
    _install_safety_net()
    _tracked.append(node)


def untrack(node: Destroyable) -> None:
    if node in _tracked:
        _tracked.remove(node)


def destroy_all() -> None:
    """Kill every node this process started and remove every directory it made."""
    for node in list(_tracked):
        node.destroy()
    for workdir in _workdirs:
        shutil.rmtree(workdir, ignore_errors=True)
    _workdirs.clear()


def _on_signal(previous: Any, signum: int, frame: Any) -> None:
    destroy_all()
    if callable(previous):
        previous(signum, frame)
    else:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install_safety_net() -> None:
    global _safety_net_installed
    if _safety_net_installed:
        return
    _safety_net_installed = True
    atexit.register(destroy_all)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread: atexit and PDEATHSIG remain
            previous = signal.getsignal(signum)
            signal.signal(signum, lambda s, f, p=previous: _on_signal(p, s, f))
