"""pytest-timeout for a test process monkey-patched by eventlet: a test over its limit fails, the
run goes on.

pytest-timeout's `signal` method checks `threading.current_thread() is threading.main_thread()`,
which is never true once eventlet has patched `threading` (the current thread is a green one), so
it silently falls back to its `thread` method, which ends a test over its limit with `os._exit(1)`:
the whole session dies, with no report of the tests that passed. This plugin takes over the timer
hooks and keeps the signal method:

- SIGALRM at the limit. When it interrupts the test's own (main) greenlet or the hub, the
  failure is raised right there, as pytest-timeout does (out of the hub it reaches the test's
  greenlet). When it lands in another greenlet (a load generator the test spawned), the failure
  is thrown into the test's greenlet through the hub, as an `eventlet.Timeout` is, so it is the
  test that fails, not a bystander.
- A real OS thread as a backstop, 60 s later: if the test is stuck where no greenlet switch
  reaches it, pytest-timeout's thread method dumps every stack and exits, as it would have.
"""

from __future__ import annotations

import signal

import greenlet
import pytest
import pytest_timeout
from eventlet import hubs, patcher

real_threading = patcher.original("threading")

BACKSTOP_SECONDS = 60


class TimedOut(BaseException):
    """Thrown into the test's greenlet at its limit (a BaseException, like eventlet.Timeout,
    so that a test's own `except Exception` does not swallow it)."""


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item, settings):
    if settings.method != "signal" or real_threading.current_thread() is not (
        real_threading.main_thread()
    ):
        return None  # pytest-timeout's own hook decides
    test_greenlet = greenlet.getcurrent()
    message = f"Timeout >{settings.timeout}s: {item.nodeid}"

    def on_alarm(signum, frame):
        __tracebackhide__ = True
        if greenlet.getcurrent() in (test_greenlet, hubs.get_hub().greenlet):
            # In the hub (waiting in epoll, which would resume its wait after this handler and
            # run a scheduled call only at its next wake-up), the failure ends the hub's
            # greenlet and reaches its parent, the test's greenlet; eventlet makes a new hub
            # greenlet at the next switch.
            pytest.fail(message)
        hubs.get_hub().schedule_call_global(0, test_greenlet.throw, TimedOut(message))

    backstop = real_threading.Timer(
        settings.timeout + BACKSTOP_SECONDS, pytest_timeout.timeout_timer, (item, settings)
    )
    backstop.daemon = True

    def cancel():
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        backstop.cancel()

    item.cancel_timeout = cancel
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    backstop.start()
    return True
