"""Sign-in throttling shared by every auth replica: counters in PostgreSQL, one atomic upsert each.

Two limits, each a fixed window of attempts that did not succeed:
- per account (the email as typed, lower-cased, known or not, so a 429 tells nothing about which
  emails exist): `LOGIN_ACCOUNT_MAX_FAILURES` (5) in `LOGIN_ACCOUNT_WINDOW` (15 minutes) from the
  first one; then every attempt, a right password included, answers 429 until the window ends;
- per client address (as the broker saw it): `LOGIN_ADDRESS_MAX_FAILURES` (30) per
  `LOGIN_ADDRESS_WINDOW` (60 s).

An attempt is counted *before* its password is checked (one upsert that also says whether the key
is over its limit), so concurrent attempts cannot all slip under the limit, and a throttled
attempt never reaches bcrypt: it costs one SQL statement. A success then takes its count back
(the address) or clears the account's window.

Why not the `limits` library: it has no PostgreSQL storage, and adding Redis or memcached to the
system only for counters would be a new stateful server to run; PostgreSQL is already auth's
store, and `INSERT ... ON CONFLICT DO UPDATE` is atomic across replicas (the conflicting row is
locked for the statement). Rows whose window has passed are deleted now and then (`sweep`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text

from common.errors import SIGN_IN_THROTTLED as THROTTLED
from common.errors import TooManyRequests

_COUNT = text(
    """
    INSERT INTO login_throttle AS t (key, hits, window_started)
    VALUES (:key, 1, clock_timestamp())
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN t.window_started <= clock_timestamp() - make_interval(secs => :window)
                    THEN 1 ELSE t.hits + 1 END,
        window_started = CASE
                    WHEN t.window_started <= clock_timestamp() - make_interval(secs => :window)
                    THEN clock_timestamp() ELSE t.window_started END
    RETURNING hits,
        CEIL(EXTRACT(EPOCH FROM t.window_started + make_interval(secs => :window)
                                - clock_timestamp()))
    """
)
_NO_FSYNC = text("SET LOCAL synchronous_commit TO OFF")
_TAKE_BACK = text("UPDATE login_throttle SET hits = GREATEST(hits - 1, 0) WHERE key = :key")
_CLEAR = text("DELETE FROM login_throttle WHERE key = :key")
_SWEEP = text(
    "DELETE FROM login_throttle"
    " WHERE window_started < clock_timestamp() - make_interval(secs => :age)"
)


class Session(Protocol):
    def execute(self, statement: Any, params: Any = ...) -> Any: ...
    def commit(self) -> None: ...


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window_seconds: float


@dataclass(frozen=True)
class Count:
    hits: int
    retry_after: int


class ThrottleStore:
    """The counters, each change committed at once so that every replica sees it."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def count(self, key: str, window_seconds: float) -> Count:
        # A counter lost in a PostgreSQL crash costs nothing worth an fsync per attempt.
        self._session.execute(_NO_FSYNC)
        row = self._session.execute(_COUNT, {"key": key, "window": window_seconds}).one()
        self._session.commit()
        return Count(hits=int(row[0]), retry_after=max(1, int(row[1])))

    def take_back(self, key: str) -> None:
        self._session.execute(_TAKE_BACK, {"key": key})
        self._session.commit()

    def clear(self, key: str) -> None:
        self._session.execute(_CLEAR, {"key": key})
        self._session.commit()

    def sweep(self, older_than_seconds: float) -> int:
        deleted = self._session.execute(_SWEEP, {"age": older_than_seconds}).rowcount
        self._session.commit()
        return deleted


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def address_key(address: str) -> str:
    return f"address:{address}"


class Attempt:
    """One sign-in attempt's place in the throttle: `start()` before the password is checked
    (429 when over a limit), then `succeeded()`, `failed()` (True when that failure locked the
    account: the attempt that reached the limit) or `undecided()` (never checked)."""

    def __init__(
        self,
        store: ThrottleStore,
        email: str,
        address: str | None,
        account_limit: Limit,
        address_limit: Limit,
    ) -> None:
        self._store = store
        self._account = account_key(email)
        self._address = address_key(address) if address else None
        self._account_limit = account_limit
        self._address_limit = address_limit
        self._account_hits = 0
        self.locked_for = 0  # seconds left in the account's window, once `failed()` locked it

    def start(self) -> None:
        if self._address is not None:
            count = self._store.count(self._address, self._address_limit.window_seconds)
            if count.hits > self._address_limit.max_failures:
                raise TooManyRequests(THROTTLED, count.retry_after, "address")
        count = self._store.count(self._account, self._account_limit.window_seconds)
        if count.hits > self._account_limit.max_failures:
            raise TooManyRequests(THROTTLED, count.retry_after, "account")
        self._account_hits = count.hits
        self.locked_for = count.retry_after

    def succeeded(self) -> None:
        self._store.clear(self._account)
        if self._address is not None:
            self._store.take_back(self._address)

    def undecided(self) -> None:
        """The password was never checked (auth busy): no guess against the account. The address
        keeps it counted: an address flooding auth would otherwise keep the bcrypt queue full
        without ever reaching its limit."""
        self._store.take_back(self._account)

    def failed(self) -> bool:
        """The failure stays counted; True when it is the one that locks the account."""
        return self._account_hits == self._account_limit.max_failures
