"""Checking credentials: the domain logic of the auth service, free of Nameko."""

from __future__ import annotations

from typing import Any, Protocol

from auth.models import User
from auth.passwords import UNKNOWN_USER_HASH
from common.errors import InvalidCredentials

# The same message for an unknown email, a wrong password and an inactive account.
INVALID_CREDENTIALS = "invalid credentials"


class UserLookup(Protocol):
    def find_by_email(self, email: str) -> User | None: ...


class PasswordCheck(Protocol):
    def matches(self, password: str, hashed: str) -> bool: ...


def authenticate(
    users: UserLookup, passwords: PasswordCheck, email: str, password: str
) -> dict[str, Any]:
    """Return the public view of the user, or raise `InvalidCredentials`."""
    user = users.find_by_email(email.strip())
    hashed = user.password if user is not None else UNKNOWN_USER_HASH
    matches = passwords.matches(password, hashed)
    if user is None or not matches or user.user_active != 1:
        raise InvalidCredentials(INVALID_CREDENTIALS)
    return user.to_public()
