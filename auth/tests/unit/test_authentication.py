from dataclasses import dataclass, field
from datetime import UTC, datetime
from unittest.mock import ANY

import pytest
from eventlet import GreenPool
from nameko.testing.services import worker_factory

from auth.authentication import INVALID_CREDENTIALS, authenticate
from auth.dependencies import AuthStores, BcryptQueue, PasswordChecker
from auth.models import User
from auth.passwords import check_password, hash_password
from auth.service import AuthService
from auth.settings import AuthSettings
from auth.tests.unit.fakes import FakeRefreshTokens, FakeThrottle
from common.config import service_config
from common.errors import InvalidCredentials, InvalidInput, ServiceUnavailable, TooManyRequests

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
    def matches(self, password: str, hashed: str, client: str | None = None) -> bool:
        return check_password(password, hashed)


PASSWORDS = DirectPasswords()


def test_authenticate_returns_the_user():
    user = authenticate(FakeUsers([make_user()]), PASSWORDS, "admin@example.com", "verysecret")
    assert user.to_public() == {
        "id": 7,
        "email": "admin@example.com",
        "first_name": "Admin",
        "last_name": "User",
        "active": True,
        "created_at": WHEN.isoformat(),
        "updated_at": WHEN.isoformat(),
    }
    assert "password" not in user.to_public()


def test_email_match_ignores_case_and_surrounding_space():
    user = authenticate(FakeUsers([make_user()]), PASSWORDS, " Admin@Example.COM ", "verysecret")
    assert user.email == "admin@example.com"


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


class CountingPasswords(DirectPasswords):
    def __init__(self) -> None:
        self.checks = 0

    def matches(self, password: str, hashed: str, client: str | None = None) -> bool:
        self.checks += 1
        return super().matches(password, hashed)


def make_service(users=(), throttle=None, **config):
    settings = AuthSettings.from_config({**service_config("auth"), **config})
    passwords = CountingPasswords()
    db = AuthStores(
        users=FakeUsers(list(users)),
        throttle=throttle or FakeThrottle(),
        refresh_tokens=FakeRefreshTokens(list(users)),
    )
    return worker_factory(AuthService, db=db, passwords=passwords, settings=settings)


def test_service_answers_the_user_and_tokens_and_dispatches_user_authenticated():
    service = make_service([make_user()])
    answer = service.authenticate("admin@example.com", "verysecret", "192.0.2.7")
    assert answer["email"] == "admin@example.com"
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 900
    assert service.settings.token_keys.verify(answer["access_token"])["sub"] == "7"
    assert len(answer["refresh_token"]) >= 40
    assert "password" not in answer
    service.dispatch.assert_called_once_with(
        "user_authenticated", {"email": "admin@example.com", "event_id": ANY}
    )
    (_, event), _ = service.dispatch.call_args
    assert len(event["event_id"]) == 32  # a redelivered event keeps it: stored once


def test_service_dispatches_nothing_on_failure():
    service = make_service([make_user()])
    with pytest.raises(InvalidCredentials):
        service.authenticate("admin@example.com", "nope")
    service.dispatch.assert_not_called()


@pytest.mark.parametrize("email", ["admin@example.com", "nobody@example.com"])
def test_five_failures_lock_the_account_a_known_one_and_an_unknown_one_alike(email):
    service = make_service([make_user()])
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            service.authenticate(email, "wrong", "192.0.2.7")
    checks = service.passwords.checks

    with pytest.raises(TooManyRequests) as raised:
        service.authenticate(email, "verysecret", "192.0.2.7")

    assert raised.value.status == 429
    assert 1 <= raised.value.retry_after <= 900  # what is left of the window
    assert raised.value.headers() == {"Retry-After": str(raised.value.retry_after)}
    assert service.passwords.checks == checks  # no bcrypt for a throttled attempt


def test_the_failure_that_locks_an_account_mails_its_owner_once():
    service = make_service([make_user()])
    for _ in range(7):
        with pytest.raises((InvalidCredentials, TooManyRequests)):
            service.authenticate("admin@example.com", "wrong", "192.0.2.7")

    mails = [
        c.args[1] for c in service.dispatch.call_args_list if c.args[0] == "send_mail_requested"
    ]
    assert len(mails) == 1
    assert mails[0]["to"] == "admin@example.com"
    assert "192.0.2.7" in mails[0]["message"]
    assert "locked" in mails[0]["subject"]


def test_an_unknown_email_locks_without_a_mail():
    service = make_service([make_user()])
    for _ in range(6):
        with pytest.raises((InvalidCredentials, TooManyRequests)):
            service.authenticate("nobody@example.com", "wrong", "192.0.2.7")
    service.dispatch.assert_not_called()


def test_a_success_clears_the_account_s_failures():
    service = make_service([make_user()])
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            service.authenticate("admin@example.com", "wrong")
    service.authenticate("admin@example.com", "verysecret")
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            service.authenticate("admin@example.com", "wrong")
    assert service.authenticate("admin@example.com", "verysecret")["id"] == 7


def test_an_address_over_its_limit_is_throttled_whatever_the_account():
    service = make_service([make_user()], LOGIN_ADDRESS_MAX_FAILURES=3)
    for number in range(3):
        with pytest.raises(InvalidCredentials):
            service.authenticate(f"user{number}@example.com", "wrong", "192.0.2.7")

    with pytest.raises(TooManyRequests):
        service.authenticate("admin@example.com", "verysecret", "192.0.2.7")
    # Another address is not concerned.
    assert service.authenticate("admin@example.com", "verysecret", "192.0.2.8")["id"] == 7


def test_successes_do_not_count_against_an_address():
    service = make_service([make_user()], LOGIN_ADDRESS_MAX_FAILURES=2)
    for _ in range(5):
        service.authenticate("admin@example.com", "verysecret", "192.0.2.7")


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        (None, "x", "email must be a string"),
        ("a@b.c", 123, "password must be a string"),
    ],
)
def test_service_rejects_wrong_types(email, password, message):
    service = make_service()
    with pytest.raises(InvalidInput, match=message):
        service.authenticate(email, password)


def test_password_checker_runs_in_slots_and_gives_them_back():
    queue = BcryptQueue(concurrency=2, queue_limit=8)
    checker = PasswordChecker(queue)
    hashed = hash_password("pw", cost=4)
    results = list(GreenPool().imap(lambda pw: checker.matches(pw, hashed), ["pw", "no", "pw"]))
    assert results == [True, False, True]
    assert queue.slots.balance == 2
    assert queue.waiting == 0


def test_checks_past_the_queue_bound_are_refused_at_once():
    queue = BcryptQueue(concurrency=1, queue_limit=2)
    checker = PasswordChecker(queue)
    hashed = hash_password("pw", cost=10)

    def check(_):
        try:
            return checker.matches("pw", hashed)
        except ServiceUnavailable:
            return "busy"

    results = list(GreenPool().imap(check, range(6)))

    assert results.count(True) == 3  # one running, two waiting
    assert results.count("busy") == 3
    assert queue.peak_waiting == 2


def test_an_attempt_auth_was_too_busy_to_check_counts_for_the_address_only():
    service = make_service([make_user()], LOGIN_ADDRESS_MAX_FAILURES=3)
    service.passwords.matches = lambda password, hashed, client: (_ for _ in ()).throw(
        ServiceUnavailable("busy")
    )
    for _ in range(3):
        with pytest.raises(ServiceUnavailable):
            service.authenticate("admin@example.com", "wrong", "192.0.2.7")

    # The address flooded auth: throttled. The account was never guessed at: not locked.
    with pytest.raises(TooManyRequests):
        service.authenticate("admin@example.com", "wrong", "192.0.2.7")
    assert service.db.throttle.windows.get("account:admin@example.com", [0])[0] == 0


def test_one_client_has_at_most_its_share_of_the_queue():
    queue = BcryptQueue(concurrency=1, queue_limit=8, per_client=2)
    hashed = hash_password("pw", cost=10)

    def check(client):
        try:
            return queue.run("pw", hashed, client)
        except ServiceUnavailable:
            return "busy"

    results = list(GreenPool().imap(check, ["attacker"] * 5 + ["user"]))

    assert results == [True, True, "busy", "busy", "busy", True]
    assert not queue.in_flight
