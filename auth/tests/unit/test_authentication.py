from dataclasses import dataclass, field
from datetime import UTC, datetime
from unittest.mock import ANY

import pytest
from eventlet import GreenPool
from eventlet.semaphore import Semaphore
from nameko.testing.services import worker_factory

from auth.authentication import INVALID_CREDENTIALS, authenticate
from auth.dependencies import PasswordChecker
from auth.models import User
from auth.passwords import check_password, hash_password
from auth.service import AuthService
from common.errors import InvalidCredentials, InvalidInput

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def make_user(email="admin@example.com", password="verysecret", active=1) -> User:
    return User(
        id=7,
        email=email,
        first_name="Admin",
        last_name="User",
        password=hash_password(password, cost=4),
        user_active=active,
        created_at=WHEN,
        updated_at=WHEN,
    )


@dataclass
class FakeUsers:
    users: list[User] = field(default_factory=list)

    def find_by_email(self, email: str) -> User | None:
        return next((u for u in self.users if u.email.lower() == email.lower()), None)


class DirectPasswords:
    def matches(self, password: str, hashed: str) -> bool:
        return check_password(password, hashed)


PASSWORDS = DirectPasswords()


def test_authenticate_returns_the_public_user():
    user = authenticate(FakeUsers([make_user()]), PASSWORDS, "admin@example.com", "verysecret")
    assert user == {
        "id": 7,
        "email": "admin@example.com",
        "first_name": "Admin",
        "last_name": "User",
        "active": True,
        "created_at": WHEN.isoformat(),
        "updated_at": WHEN.isoformat(),
    }
    assert "password" not in user


def test_email_match_ignores_case_and_surrounding_space():
    user = authenticate(FakeUsers([make_user()]), PASSWORDS, " Admin@Example.COM ", "verysecret")
    assert user["email"] == "admin@example.com"


@pytest.mark.parametrize(
    ("users", "email", "password"),
    [
        ([make_user()], "admin@example.com", "wrong"),
        ([make_user()], "nobody@example.com", "verysecret"),
        ([make_user(active=0)], "admin@example.com", "verysecret"),
        ([], "admin@example.com", "verysecret"),
    ],
    ids=["wrong-password", "unknown-email", "inactive", "no-users"],
)
def test_every_failure_gives_the_same_answer(users, email, password):
    with pytest.raises(InvalidCredentials) as raised:
        authenticate(FakeUsers(users), PASSWORDS, email, password)
    assert raised.value.message == INVALID_CREDENTIALS
    assert raised.value.status == 401


def test_service_dispatches_user_authenticated_on_success():
    service = worker_factory(AuthService, users=FakeUsers([make_user()]), passwords=PASSWORDS)
    user = service.authenticate("admin@example.com", "verysecret")
    assert user["email"] == "admin@example.com"
    service.dispatch.assert_called_once_with(
        "user_authenticated", {"email": "admin@example.com", "event_id": ANY}
    )
    (_, event), _ = service.dispatch.call_args
    assert len(event["event_id"]) == 32  # a redelivered event keeps it: stored once


def test_service_dispatches_nothing_on_failure():
    service = worker_factory(AuthService, users=FakeUsers([make_user()]), passwords=PASSWORDS)
    with pytest.raises(InvalidCredentials):
        service.authenticate("admin@example.com", "nope")
    service.dispatch.assert_not_called()


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        (None, "x", "email must be a string"),
        ("a@b.c", 123, "password must be a string"),
    ],
)
def test_service_rejects_wrong_types(email, password, message):
    service = worker_factory(AuthService, users=FakeUsers(), passwords=PASSWORDS)
    with pytest.raises(InvalidInput, match=message):
        service.authenticate(email, password)


def test_password_checker_runs_in_slots_and_gives_them_back():
    slots = Semaphore(2)
    checker = PasswordChecker(slots)
    hashed = hash_password("pw", cost=4)
    results = list(GreenPool().imap(lambda pw: checker.matches(pw, hashed), ["pw", "no", "pw"]))
    assert results == [True, False, True]
    assert slots.balance == 2
