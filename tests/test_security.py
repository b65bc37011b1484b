"""Issue 10 through the real broker, auth, logger and mailer: tokens, sign-in throttling shared by
two broker processes, the lock-out mail, and the surface (JSON-only writes, CORS, headers).

Every test names its own client address: the brokers trust 127.0.0.1 as a proxy
(TRUSTED_PROXIES), so X-Forwarded-For picks the address auth throttles, and no test's failures
count against another's. Accounts are made per test, with a cheap bcrypt cost, so locking one
locks nobody else.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest
import requests
from nameko.testing.utils import get_container

from auth.dependencies import Passwords
from auth.passwords import hash_password
from auth.service import AuthService
from broker.service import BrokerService
from broker.settings import BrokerSettings
from common.config import service_config
from common.tokens import TokenKeys
from logger.service import LoggerService
from mailer.service import MailerService
from testing.broker_process import broker_process
from testing.infrastructure import SMTP_HOST, SMTP_PORT
from testing.ports import free_port

PASSWORD = "right-password"
# The brokers of these tests believe 127.0.0.1 about the client it forwards.
TRUSTED = {"TRUSTED_PROXIES": "127.0.0.1"}


def client_address() -> str:
    """An address of the IPv6 documentation prefix, new for each call: a header value only."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@dataclass
class Secured:
    brokers: list[str]
    users_db_uri: str
    auth: Any  # the auth container

    def bcrypt_checks(self) -> int:
        """How many bcrypt checks auth has started."""
        (passwords,) = [d for d in self.auth.extensions if isinstance(d, Passwords)]
        return passwords.queue.checks_started

    @property
    def broker(self) -> str:
        return self.brokers[0]

    def add_user(self, email: str) -> None:
        uri = self.users_db_uri.replace("+psycopg2", "")
        with psycopg2.connect(uri) as connection, connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO users (email, first_name, last_name, password, user_active)"
                " VALUES (%s, 'Test', 'User', %s, 1)",
                (email, hash_password(PASSWORD, cost=4)),
            )
        connection.close()

    def sign_in(
        self, email: str, password: str, address: str, broker: str | None = None
    ) -> requests.Response:
        return requests.post(
            f"{broker or self.broker}/handle",
            json={"action": "auth", "auth": {"email": email, "password": password}},
            headers={"X-Forwarded-For": address},
            timeout=15,
        )


@pytest.fixture
def start_secured(
    runner_factory, config_for, users_db_uri, mongo_database
) -> Iterator[Callable[..., Secured]]:
    """`start_secured(second_broker=False, **auth_settings)`: broker(s), auth, logger, mailer."""
    processes = ExitStack()

    def start(second_broker: bool = False, **auth_settings: Any) -> Secured:
        port = free_port()
        broker_config = config_for("broker", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", **TRUSTED)
        runner_factory(broker_config, BrokerService).start()
        auth_config = config_for("auth", DB_URIS={"auth:Base": users_db_uri}, **auth_settings)
        auth_runner = runner_factory(auth_config, AuthService)
        auth_runner.start()
        logger_config = config_for(
            "logger",
            MONGO_DATABASE=mongo_database,
            LOGGER_XMLRPC_ADDRESS=f"127.0.0.1:{free_port()}",
        )
        runner_factory(logger_config, LoggerService).start()
        mailer_config = config_for("mailer", MAIL_HOST=SMTP_HOST, MAIL_PORT=SMTP_PORT)
        runner_factory(mailer_config, MailerService).start()
        brokers = [f"http://127.0.0.1:{port}"]
        if second_broker:
            brokers.append(
                processes.enter_context(broker_process(broker_config["AMQP_URI"], **TRUSTED))
            )
        return Secured(brokers, users_db_uri, get_container(auth_runner, AuthService))

    with processes:
        yield start


@pytest.fixture
def secured(start_secured) -> Secured:
    return start_secured()


def signed_in(system: Secured, token: str) -> dict[str, Any]:
    email = f"user-{token}@example.com"
    system.add_user(email)
    response = system.sign_in(email, PASSWORD, client_address())
    assert response.status_code == 202, response.text
    return response.json()["data"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Tokens


def test_sign_in_answers_the_user_and_tokens(secured, token):
    data = signed_in(secured, token)

    assert data["email"] == f"user-{token}@example.com"
    assert (data["token_type"], data["expires_in"]) == ("Bearer", 900)
    assert data["refresh_token"] and "password" not in data
    keys = BrokerSettings.from_config(service_config("broker")).token_keys
    claims = keys.verify(data["access_token"])
    assert claims["sub"] == str(data["id"])
    assert claims["exp"] - claims["iat"] == 900


def _keys(secret: str | None = None) -> TokenKeys:
    settings = BrokerSettings.from_config(service_config("broker"))
    return TokenKeys(
        settings.jwt_key_id,
        secret or settings.jwt_secret,
        {},
        settings.jwt_issuer,
        settings.access_token_seconds,
    )


def _tampered(access_token: str) -> str:
    header, payload, signature = access_token.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    return f"{header}.{flipped}.{signature}"


@pytest.mark.parametrize(
    ("make_header", "message"),
    [
        (lambda data: bearer(data["access_token"]), None),
        (
            lambda data: bearer(
                _keys().issue(str(data["id"]), datetime.now(UTC) - timedelta(hours=1))
            ),
            "access token expired",
        ),
        (lambda data: bearer(_tampered(data["access_token"])), "invalid access token"),
        (
            lambda data: bearer(_keys("another-key-" * 4).issue(str(data["id"]))),
            "invalid access token",
        ),
        (lambda data: {}, "an access token is required"),
        (lambda data: {"Authorization": f"Basic {data['access_token']}"}, "must be Bearer"),
        (lambda data: {"Authorization": "Bearer"}, "must be Bearer"),
        (lambda data: bearer("not.a.jwt"), "malformed access token"),
    ],
    ids=[
        "valid",
        "expired",
        "tampered",
        "wrong-key",
        "missing",
        "wrong-scheme",
        "empty",
        "garbage",
    ],
)
def test_a_protected_route_checks_the_access_token(secured, token, make_header, message):
    data = signed_in(secured, token)

    response = requests.get(f"{secured.broker}/logs", headers=make_header(data), timeout=10)

    if message is None:
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
    else:
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json() == {"error": True, "message": response.json()["message"]}
        assert message in response.json()["message"]


def test_a_token_works_against_a_second_broker_process(start_secured, token):
    system = start_secured(second_broker=True)
    data = signed_in(system, token)  # through the first broker

    for broker in system.brokers:
        response = requests.get(f"{broker}/logs", headers=bearer(data["access_token"]), timeout=10)
        assert response.status_code == 200, response.text
    response = requests.get(f"{system.brokers[1]}/logs", timeout=10)
    assert response.status_code == 401


def test_refresh_rotates_and_logout_revokes(secured, token):
    data = signed_in(secured, token)

    refreshed = requests.post(
        f"{secured.broker}/auth/refresh", json={"refresh_token": data["refresh_token"]}, timeout=10
    )
    assert refreshed.status_code == 200, refreshed.text
    tokens = refreshed.json()["data"]
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert tokens["refresh_token"] != data["refresh_token"]
    logs = requests.get(
        f"{secured.broker}/logs", headers=bearer(tokens["access_token"]), timeout=10
    )
    assert logs.status_code == 200

    again = requests.post(
        f"{secured.broker}/auth/refresh", json={"refresh_token": data["refresh_token"]}, timeout=10
    )
    assert again.status_code == 401  # rotated: and its family is revoked for the reuse
    revoked = requests.post(
        f"{secured.broker}/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        timeout=10,
    )
    assert revoked.status_code == 401

    second = signed_in_again(secured, token)
    out = requests.post(
        f"{secured.broker}/auth/logout", json={"refresh_token": second["refresh_token"]}, timeout=10
    )
    assert out.status_code == 200
    after = requests.post(
        f"{secured.broker}/auth/refresh",
        json={"refresh_token": second["refresh_token"]},
        timeout=10,
    )
    assert after.status_code == 401


def signed_in_again(system: Secured, token: str) -> dict[str, Any]:
    response = system.sign_in(f"user-{token}@example.com", PASSWORD, client_address())
    assert response.status_code == 202, response.text
    return response.json()["data"]


# Throttling


def _fail(system: Secured, email: str, times: int, address: str, broker: str | None = None):
    for _ in range(times):
        response = system.sign_in(email, "wrong", address, broker)
        assert response.status_code == 401, response.text


def test_five_failures_lock_the_account_even_for_the_right_password(secured, token):
    email = f"user-{token}@example.com"
    secured.add_user(email)
    _fail(secured, email, 5, client_address())

    response = secured.sign_in(email, PASSWORD, client_address())

    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 900
    assert response.json() == {
        "error": True,
        "message": "too many sign-in attempts, try again later",
    }


def test_the_account_opens_again_after_the_window(start_secured, token):
    system = start_secured(LOGIN_ACCOUNT_WINDOW=3)
    email = f"user-{token}@example.com"
    system.add_user(email)
    _fail(system, email, 5, client_address())
    locked = system.sign_in(email, PASSWORD, client_address())
    assert locked.status_code == 429

    time.sleep(int(locked.headers["Retry-After"]) + 0.5)

    assert system.sign_in(email, PASSWORD, client_address()).status_code == 202


def test_two_broker_processes_share_the_count(start_secured, token):
    system = start_secured(second_broker=True)
    email = f"user-{token}@example.com"
    system.add_user(email)
    _fail(system, email, 3, client_address(), system.brokers[0])
    _fail(system, email, 2, client_address(), system.brokers[1])

    for broker in system.brokers:
        assert system.sign_in(email, PASSWORD, client_address(), broker).status_code == 429


def test_an_unknown_email_is_throttled_the_same_and_throttled_attempts_skip_bcrypt(secured, token):
    email = f"nobody-{token}@example.com"
    failed = []
    for _ in range(5):
        started = time.monotonic()
        assert secured.sign_in(email, "wrong", client_address()).status_code == 401
        failed.append(time.monotonic() - started)

    checks = secured.bcrypt_checks()

    throttled = []
    for _ in range(5):
        started = time.monotonic()
        response = secured.sign_in(email, "wrong", client_address())
        throttled.append(time.monotonic() - started)
        assert response.status_code == 429
        assert response.headers["Retry-After"]

    assert secured.bcrypt_checks() == checks  # no bcrypt for a throttled attempt
    # Each failure paid a bcrypt check at cost 12 (~250 ms idle); a throttled attempt is two SQL
    # statements (tens of ms, more on a busy machine).
    assert statistics.median(throttled) < statistics.median(failed), (failed, throttled)


def test_an_address_over_its_limit_is_throttled_for_every_account(start_secured, token):
    system = start_secured(LOGIN_ADDRESS_MAX_FAILURES=3)
    email = f"user-{token}@example.com"
    system.add_user(email)
    attacker = client_address()
    for number in range(3):
        response = system.sign_in(f"guess-{number}-{token}@example.com", "wrong", attacker)
        assert response.status_code == 401

    assert system.sign_in(email, PASSWORD, attacker).status_code == 429
    assert system.sign_in(email, PASSWORD, client_address()).status_code == 202


# The lock-out mail


def test_the_owner_of_a_locked_account_gets_a_mail(secured, token, inbox):
    email = f"locked-{token}@example.com"
    secured.add_user(email)
    address = client_address()
    _fail(secured, email, 5, address)

    mail = inbox.wait_for_one()

    assert [to["address"] for to in mail["to"]] == [email]
    assert "locked" in mail["subject"]
    assert address in mail["text"]
    assert email in mail["text"]
    assert "UTC" in mail["text"]


# The surface


def test_a_cross_origin_text_plain_post_is_refused(secured):
    response = requests.post(
        f"{secured.broker}/handle",
        data='{"action":"log","log":{"name":"csrf","data":"d"}}',
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example.com"},
        timeout=10,
    )
    assert response.status_code == 415
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("origin", "granted"),
    [
        ("http://localhost:8081", True),
        ("http://localhost:8081.evil.com", False),
        ("http://localhost.evil.com:8081", False),
    ],
)
def test_cors_grants_whole_origins_only(secured, origin, granted):
    response = requests.options(
        f"{secured.broker}/handle",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert (response.headers.get("Access-Control-Allow-Origin") == origin) is granted


def test_every_answer_carries_the_security_headers(secured):
    for response in (
        requests.get(f"{secured.broker}/ping", timeout=10),
        requests.get(f"{secured.broker}/nope", timeout=10),
        requests.get(f"{secured.broker}/logs", timeout=10),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
