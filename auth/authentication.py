"""Checking credentials: the domain logic of the auth service, free of Nameko."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from auth.models import User
from auth.passwords import UNKNOWN_USER_HASH
from common.errors import InvalidCredentials

# The same message for an unknown email, a wrong password and an inactive account.
INVALID_CREDENTIALS = "invalid credentials"


class UserLookup(Protocol):
    def find_by_email(self, email: str) -> User | None: ...


class PasswordCheck(Protocol):
    def matches(self, password: str, hashed: str, client: str | None = None) -> bool: ...


class Throttle(Protocol):
    """An attempt's place in the throttle (auth/throttling.py: Attempt)."""

    def start(self) -> None: ...
    def succeeded(self) -> None: ...
    def failed(self) -> bool: ...
    def undecided(self) -> None: ...


class Unthrottled:
    """For callers that throttle elsewhere, and for tests of the check alone."""

    def start(self) -> None:
        pass

    def succeeded(self) -> None:
        pass

    def failed(self) -> bool:
        return False

    def undecided(self) -> None:
        pass


def authenticate(
    users: UserLookup,
    passwords: PasswordCheck,
    email: str,
    password: str,
    throttle: Throttle | None = None,
    on_lock: Callable[[User], None] | None = None,
    client: str | None = None,
) -> User:
    """The user whose credentials these are, or `InvalidCredentials`.

    `throttle.start()` comes first and raises `TooManyRequests` for a throttled attempt, before
    anything costly: no lookup, no bcrypt. When a failure locks an existing account, `on_lock`
    is told (the owner gets a mail). `client` (the client's address) bounds the checks one
    address may have in flight.
    """
    throttle = throttle or Unthrottled()
    throttle.start()
    user = users.find_by_email(email.strip())
    hashed = user.password if user is not None else UNKNOWN_USER_HASH
    try:
        matches = passwords.matches(password, hashed, client)
    except Exception:
        throttle.undecided()  # e.g. the bcrypt queue was full: not a failed guess
        raise
    if user is None or not matches or user.user_active != 1:
        if throttle.failed() and user is not None and on_lock is not None:
            on_lock(user)
        raise InvalidCredentials(INVALID_CREDENTIALS)
    throttle.succeeded()
    return user
