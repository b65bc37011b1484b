"""The auth service's dependencies: its database (nameko-sqlalchemy's engine and per-worker
session, wrapped in the stores the service needs: users, the sign-in throttle, refresh tokens) and
bcrypt off the event loop, bounded."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import eventlet
from eventlet import tpool
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from nameko_sqlalchemy import Database
from nameko_sqlalchemy.database import DatabaseWrapper
from psycogreen.eventlet import patch_psycopg
from sqlalchemy import func, select, text

from auth.models import Base, User
from auth.passwords import check_password
from auth.sessions import RefreshTokenStore
from auth.settings import AuthSettings
from auth.throttling import ThrottleStore
from common.errors import ServiceUnavailable
from common.metrics import BCRYPT_RUNNING, BCRYPT_WAITING
from common.readiness import CHECK_TIMEOUT, Check, run_check
from common.settings import settings_for

log = logging.getLogger(__name__)


class UserStore:
    def __init__(self, db: DatabaseWrapper) -> None:
        self._db = db

    def find_by_email(self, email: str) -> User | None:
        query = select(User).where(func.lower(User.email) == email.lower())
        return self._db.session.scalars(query).first()


@dataclass(frozen=True)
class AuthStores:
    """One worker's view of the database, all on the worker's one session."""

    users: UserStore
    throttle: ThrottleStore
    refresh_tokens: RefreshTokenStore


class AuthDatabase(Database):
    """`DB_URIS["auth:Base"]` in config; sessions are closed after each worker by the parent."""

    def __init__(self) -> None:
        super().__init__(Base, engine_options={"pool_pre_ping": True, "pool_size": 10})

    def setup(self) -> None:
        # psycopg2 is a C extension: without this wait callback each query would block the
        # whole eventlet hub instead of only the green thread that runs it.
        patch_psycopg()
        super().setup()

    def get_dependency(self, worker_ctx: Any) -> AuthStores:
        db = super().get_dependency(worker_ctx)
        return AuthStores(
            users=UserStore(db),
            throttle=ThrottleStore(db.session),
            refresh_tokens=RefreshTokenStore(db.session),
        )

    def readiness(self) -> dict[str, Check]:
        def probe() -> str:
            with eventlet.Timeout(CHECK_TIMEOUT), self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return "SELECT 1 answered"

        return {"postgresql": run_check(probe)}


BUSY = "too many sign-ins at once, try again in a moment"


class BcryptQueue:
    """At most `concurrency` checks running and `queue_limit` waiting, and at most `per_client`
    of them (running or waiting) for one client address; past that a check is refused at once
    (503) instead of waiting behind others until the caller's deadline: one address sending a
    burst of guesses cannot fill the queue in front of everyone else's sign-ins. The deepest
    queue seen is logged when it grows, so a benchmark can read it from the log."""

    def __init__(self, concurrency: int, queue_limit: int, per_client: int = 1_000_000) -> None:
        self.slots = Semaphore(concurrency)
        self.queue_limit = queue_limit
        self.per_client = per_client
        self.in_flight: Counter[str] = Counter()
        self.waiting = 0
        self.peak_waiting = 0
        self.checks_started = 0

    def run(self, password: str, hashed: str, client: str | None = None) -> bool:
        if client is None:
            return self._run(password, hashed)
        if self.in_flight[client] >= self.per_client:
            raise ServiceUnavailable(BUSY)
        self.in_flight[client] += 1
        try:
            return self._run(password, hashed)
        finally:
            self.in_flight[client] -= 1
            if not self.in_flight[client]:
                del self.in_flight[client]

    def _run(self, password: str, hashed: str) -> bool:
        if not self.slots.locked():
            self.slots.acquire()  # free: taken at once (no green thread switch in between)
        else:
            if self.waiting >= self.queue_limit:
                raise ServiceUnavailable(BUSY)
            self.waiting += 1
            if self.waiting > self.peak_waiting:
                self.peak_waiting = self.waiting
                log.info("bcrypt queue: %d waiting at most so far", self.waiting)
            try:
                with BCRYPT_WAITING.track_inprogress():
                    self.slots.acquire()
            finally:
                self.waiting -= 1
        self.checks_started += 1
        try:
            with BCRYPT_RUNNING.track_inprogress():
                return tpool.execute(check_password, password, hashed)
        finally:
            self.slots.release()


class PasswordChecker:
    def __init__(self, queue: BcryptQueue) -> None:
        self._queue = queue

    def matches(self, password: str, hashed: str, client: str | None = None) -> bool:
        return self._queue.run(password, hashed, client)


class Passwords(DependencyProvider):
    """bcrypt checks in eventlet's OS thread pool, at most `BCRYPT_CONCURRENCY` at a time.

    A check costs ~250 ms of CPU at cost 12. In `tpool` (bcrypt releases the GIL) it no longer
    stalls the service's other green threads; the bound keeps a burst of logins from taking every
    core of the machine away from the other services (measured in bench/auth_concurrency.py).
    """

    def setup(self) -> None:
        settings = settings_for(self.container, AuthSettings)
        self.queue = BcryptQueue(
            settings.bcrypt_concurrency, settings.bcrypt_queue_limit, settings.bcrypt_per_client
        )

    def get_dependency(self, worker_ctx: Any) -> PasswordChecker:
        return PasswordChecker(self.queue)
