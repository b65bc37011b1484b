"""The auth service's dependencies: the users table (nameko-sqlalchemy's engine and per-worker
session, wrapped in a store with the one query the service needs) and bcrypt off the event loop."""

from __future__ import annotations

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
from auth.settings import AuthSettings
from common.metrics import BCRYPT_RUNNING, BCRYPT_WAITING
from common.readiness import CHECK_TIMEOUT, Check, run_check
from common.settings import settings_for


class UserStore:
    def __init__(self, db: DatabaseWrapper) -> None:
        self._db = db

    def find_by_email(self, email: str) -> User | None:
        query = select(User).where(func.lower(User.email) == email.lower())
        return self._db.session.scalars(query).first()


class Users(Database):
    """`DB_URIS["auth:Base"]` in config; sessions are closed after each worker by the parent."""

    def __init__(self) -> None:
        super().__init__(Base, engine_options={"pool_pre_ping": True, "pool_size": 10})

    def setup(self) -> None:
        # psycopg2 is a C extension: without this wait callback each query would block the
        # whole eventlet hub instead of only the green thread that runs it.
        patch_psycopg()
        super().setup()

    def get_dependency(self, worker_ctx: Any) -> UserStore:
        return UserStore(super().get_dependency(worker_ctx))

    def readiness(self) -> dict[str, Check]:
        def probe() -> str:
            with eventlet.Timeout(CHECK_TIMEOUT), self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return "SELECT 1 answered"

        return {"postgresql": run_check(probe)}


class PasswordChecker:
    def __init__(self, slots: Semaphore) -> None:
        self._slots = slots

    def matches(self, password: str, hashed: str) -> bool:
        with BCRYPT_WAITING.track_inprogress():
            self._slots.acquire()
        try:
            with BCRYPT_RUNNING.track_inprogress():
                return tpool.execute(check_password, password, hashed)
        finally:
            self._slots.release()


class Passwords(DependencyProvider):
    """bcrypt checks in eventlet's OS thread pool, at most `BCRYPT_CONCURRENCY` at a time.

    A check costs ~250 ms of CPU at cost 12. In `tpool` (bcrypt releases the GIL) it no longer
    stalls the service's other green threads; the bound keeps a burst of logins from taking every
    core of the machine away from the other services (measured in bench/auth_concurrency.py).
    """

    def setup(self) -> None:
        self.slots = Semaphore(settings_for(self.container, AuthSettings).bcrypt_concurrency)

    def get_dependency(self, worker_ctx: Any) -> PasswordChecker:
        return PasswordChecker(self.slots)
