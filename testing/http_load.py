"""Bounded HTTP load for fault tests: N requests at a given concurrency, every answer recorded.

Under eventlet (the test session is monkey-patched) the worker threads are green threads. Each
request has a timeout; a request that got no HTTP answer at all is recorded as status 0; an
accepted one (202) with the event id the broker answered (`data.id`), its stored entry's `_id`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests


@dataclass
class Answers:
    """What each request got, by the value it carried (a unique string per request)."""

    by_value: dict[str, int] = field(default_factory=dict)
    event_ids: dict[str, str] = field(default_factory=dict)  # of the accepted (202: data.id)
    seconds: dict[str, float] = field(default_factory=dict)  # how long each one took
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self, value: str, status: int, event_id: str | None = None, seconds: float = 0.0
    ) -> None:
        with self._lock:
            self.by_value[value] = status
            self.seconds[value] = seconds
            if event_id is not None:
                self.event_ids[value] = event_id

    @property
    def done(self) -> int:
        return len(self.by_value)

    def statuses(self) -> Counter[int]:
        return Counter(self.by_value.values())

    def with_status(self, status: int) -> set[str]:
        return {value for value, got in self.by_value.items() if got == status}


def post_each(
    url: str,
    values: Iterable[str],
    body: Callable[[str], dict],
    concurrency: int,
    timeout: float = 15,
    answers: Answers | None = None,
) -> Answers:
    """POST `body(value)` to `url` for every value, `concurrency` at a time."""
    answers = answers if answers is not None else Answers()
    local = threading.local()

    def post(value: str) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        event_id, started = None, time.monotonic()
        try:
            response = session.post(url, json=body(value), timeout=timeout)
            status = response.status_code
            if status == 202:
                event_id = response.json()["data"]["id"]
        except requests.RequestException:
            status = 0
            local.session = None
        answers.record(value, status, event_id, time.monotonic() - started)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, values))
    return answers
