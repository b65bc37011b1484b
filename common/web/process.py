"""What a server changes in its process: the hub wakes on signals, and the open-file limit fits
the connections it may hold.

Signals: `nameko run` stops the service from a green thread that its SIGTERM handler schedules,
but an idle hub sleeps in epoll until its next timer, up to a minute, before it runs anything
newly scheduled: a service that only serves HTTP (no AMQP heartbeats) took that long to stop.
Python writes a byte to the "wakeup fd" for every signal; watching that fd makes the hub return
from epoll, run the handler's green thread, and stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal

import eventlet
from eventlet import hubs

log = logging.getLogger(__name__)

_installed = False


def install_signal_wakeup() -> None:
    """Idempotent; does nothing off the main thread or when something else owns the wakeup fd."""
    global _installed
    if _installed:
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    try:
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:  # not the main thread of the main interpreter
        previous = None
    if previous != -1:
        if previous is not None:
            signal.set_wakeup_fd(previous)
        os.close(read_fd)
        os.close(write_fd)
        return
    _installed = True
    eventlet.spawn_n(_drain, read_fd)


def _drain(read_fd: int) -> None:
    while True:
        hubs.trampoline(read_fd, read=True)
        with contextlib.suppress(BlockingIOError):
            os.read(read_fd, 512)


def raise_file_limit(needed: int) -> None:
    """Raise the soft limit on open files to `needed` if the hard limit allows (Go's runtime
    does the same): containers often start with a soft limit of 1024, under the connection cap,
    and a server out of descriptors cannot even answer its 503."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        log.warning(
            "open files are limited to %d, fewer than the %d connections allow", hard, needed
        )
