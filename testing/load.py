"""Steady load on the broker's log routes from a few green threads, recording every answer, for
tests that break things underneath it: what was accepted (202, with the event id), what was
refused and how."""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import eventlet
import requests

TRANSPORTS = ("rabbit", "rpc", "grpc")


@dataclass(frozen=True)
class Answer:
    transport: str
    data: str  # unique per request: what the stored entry is found by
    status: int  # 0: no HTTP answer at all (connection refused, reset, timed out)
    event_id: str | None
    at: float


@dataclass
class LogLoad:
    broker_url: str
    transports: tuple[str, ...] = TRANSPORTS
    workers: int = 6
    pause: float = 0.01  # between one worker's requests
    timeout: float = 10
    answers: list[Answer] = field(default_factory=list)
    _threads: list = field(default_factory=list)
    _running: bool = False

    def __enter__(self) -> LogLoad:
        self._running = True
        tag = uuid.uuid4().hex[:8]
        for worker in range(self.workers):
            numbers = itertools.count()
            self._threads.append(eventlet.spawn(self._work, f"{tag}-{worker}", numbers))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._running = False
        for thread in self._threads:
            thread.wait()

    def _work(self, worker: str, numbers: itertools.count) -> None:
        session = requests.Session()
        for number in numbers:
            if not self._running:
                return
            transport = self.transports[number % len(self.transports)]
            data = f"{worker}-{number}"
            self.answers.append(self._post(session, transport, data))
            eventlet.sleep(self.pause)

    def _post(self, session: requests.Session, transport: str, data: str) -> Answer:
        body = {"log": {"name": "load", "data": data}}
        try:
            response = session.post(
                f"{self.broker_url}/log-{transport}", json=body, timeout=self.timeout
            )
        except requests.RequestException:
            return Answer(transport, data, 0, None, time.monotonic())
        event_id = None
        if response.status_code == 202:
            event_id = response.json()["data"]["id"]
        return Answer(transport, data, response.status_code, event_id, time.monotonic())

    def accepted(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.status == 202]

    def statuses(self) -> Counter[int]:
        return Counter(answer.status for answer in self.answers)
