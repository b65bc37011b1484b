"""The auth service on real RabbitMQ and PostgreSQL."""

from unittest.mock import ANY

import psycopg2
import pytest
from nameko.events import event_handler
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from nameko.testing.utils import get_container

from auth.migrate import SEED_USER, migrate
from auth.service import AuthService
from common.errors import InvalidCredentials

GO_HASH_OF_VERYSECRET = "$2a$12$1zGLuYDDNvATh4RA4avbKuheAMpb1svexSzrQm7up.bnpwQHs0jNe"


class AuthEventsRecorder:
    """Stands in for the logger: records what auth announces."""

    name = "auth_events_recorder"

    @event_handler("auth", "user_authenticated")
    def on_user_authenticated(self, payload):
        return payload


@pytest.fixture
def auth_config(config_for, users_db_uri):
    return config_for("auth", DB_URIS={"auth:Base": users_db_uri})


def libpq(uri: str) -> str:
    return uri.replace("+psycopg2", "")


def test_seed_user_authenticates_and_the_event_is_dispatched(runner_factory, auth_config):
    runner = runner_factory(auth_config, AuthService, AuthEventsRecorder)
    runner.start()
    auth = get_container(runner, AuthService)
    recorder = get_container(runner, AuthEventsRecorder)

    with (
        entrypoint_waiter(recorder, "on_user_authenticated") as event,
        entrypoint_hook(auth, "authenticate") as authenticate,
    ):
        user = authenticate("admin@example.com", "verysecret")

    assert event.get() == {"email": "admin@example.com", "event_id": ANY}
    assert user["email"] == "admin@example.com"
    assert user["first_name"] == "Admin"
    assert user["last_name"] == "User"
    assert user["active"] is True
    assert set(user) == {
        "id",
        "email",
        "first_name",
        "last_name",
        "active",
        "created_at",
        "updated_at",
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
    }


@pytest.mark.parametrize(
    ("email", "password"),
    [("admin@example.com", "wrong"), ("nobody@example.com", "verysecret")],
    ids=["wrong-password", "unknown-email"],
)
def test_failures_raise_invalid_credentials(container_factory, auth_config, email, password):
    container = container_factory(AuthService, auth_config)
    container.start()
    with (
        entrypoint_hook(container, "authenticate") as authenticate,
        pytest.raises(InvalidCredentials, match="invalid credentials"),
    ):
        authenticate(email, password)


def test_a_user_created_by_the_go_system_authenticates(
    container_factory, auth_config, users_db_uri
):
    with psycopg2.connect(libpq(users_db_uri)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users (email, first_name, last_name, password, user_active)"
            " VALUES (%s, 'Go', 'User', %s, 1) ON CONFLICT (email) DO NOTHING",
            ("go-user@example.com", GO_HASH_OF_VERYSECRET),
        )
    container = container_factory(AuthService, auth_config)
    container.start()
    with entrypoint_hook(container, "authenticate") as authenticate:
        assert authenticate("go-user@example.com", "verysecret")["last_name"] == "User"


def test_migrate_is_idempotent(users_db_uri):
    migrate(users_db_uri)
    migrate(users_db_uri)
    with psycopg2.connect(libpq(users_db_uri)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(password) FROM users WHERE email = %s", (SEED_USER["email"],)
        )
        count, hashed = cursor.fetchone()
    assert count == 1
    assert hashed.startswith("$2b$12$")
