"""The broker remembers auth's 429s until their `Retry-After` passes, and answers a throttled
address or account itself meanwhile, without an RPC.

The count stays in PostgreSQL, shared by every replica (auth/throttling.py); this is a cache of
auth's verdicts only, never of a count, and a verdict cannot end before its Retry-After (fixed
windows), so a replica that has not seen it yet just asks auth once. Under a guessing attack it
turns 50 attempts a second from one address into local answers of a fraction of a millisecond,
leaving auth's workers, PostgreSQL and bcrypt to legitimate sign-ins. Bounded in size: the
entries that expire first go first.
"""

from __future__ import annotations

import heapq
from time import monotonic
from typing import Any

from nameko.extensions import DependencyProvider

from common.errors import SIGN_IN_THROTTLED as THROTTLED
from common.errors import TooManyRequests

MAX_ENTRIES = 100_000


class RefusalCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, clock=monotonic) -> None:
        self._until: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []
        self._max_entries = max_entries
        self._clock = clock

    def check(self, address: str, email: str) -> None:
        """`TooManyRequests` when auth throttled this address or account and it has not ended."""
        now = self._clock()
        for key in (f"address:{address}", f"account:{email.strip().lower()}"):
            until = self._until.get(key)
            if until is not None and until > now:
                raise TooManyRequests(THROTTLED, int(until - now) + 1, key.split(":", 1)[0])

    def remember(self, address: str, email: str, refusal: TooManyRequests) -> None:
        if refusal.scope == "address":
            key = f"address:{address}"
        elif refusal.scope == "account":
            key = f"account:{email.strip().lower()}"
        else:
            return
        now = self._clock()
        until = now + refusal.retry_after - 1  # Retry-After is rounded up: never past the window
        self._until[key] = until
        heapq.heappush(self._expiries, (until, key))
        self._forget_expired(now)

    def _forget_expired(self, now: float) -> None:
        while self._expiries and (
            self._expiries[0][0] <= now or len(self._until) > self._max_entries
        ):
            until, key = heapq.heappop(self._expiries)
            if self._until.get(key) == until:
                del self._until[key]

    def __len__(self) -> int:
        return len(self._until)


class Refusals(DependencyProvider):
    """One cache per broker process, shared by its workers (green threads: no locking needed)."""

    def setup(self) -> None:
        self.cache = RefusalCache()

    def get_dependency(self, worker_ctx: Any) -> RefusalCache:
        return self.cache
