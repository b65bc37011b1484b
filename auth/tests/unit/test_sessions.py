"""Refresh tokens: rotation, reuse detection, sign-out (auth/sessions.py), on an in-memory store."""

from datetime import UTC, datetime, timedelta

import pytest

from auth.models import User
from auth.sessions import Sessions, token_hash
from auth.tests.unit.fakes import FakeRefreshTokens
from common.errors import Unauthorized
from common.tokens import TokenKeys

KEYS = TokenKeys("k1", "x" * 40, {}, "nameko-auth", 900)


def make_sessions(active=1):
    user = User(id=7, email="a@example.com", password="-", user_active=active)
    store = FakeRefreshTokens([user])
    return Sessions(store, KEYS, refresh_lifetime=3600), store


def test_a_sign_in_gives_an_access_token_and_a_refresh_token_stored_only_as_its_hash():
    sessions, store = make_sessions()
    tokens = sessions.start(7)

    assert KEYS.verify(tokens["access_token"])["sub"] == "7"
    assert (tokens["token_type"], tokens["expires_in"]) == ("Bearer", 900)
    assert [row.token_hash for row in store.rows] == [token_hash(tokens["refresh_token"])]
    assert tokens["refresh_token"] not in {row.token_hash for row in store.rows}


def test_a_refresh_rotates_the_refresh_token():
    sessions, _ = make_sessions()
    first = sessions.start(7)

    second = sessions.refresh(first["refresh_token"])

    assert second["refresh_token"] != first["refresh_token"]
    assert KEYS.verify(second["access_token"])["sub"] == "7"
    with pytest.raises(Unauthorized, match="invalid refresh token"):
        sessions.refresh(first["refresh_token"])


def test_reusing_a_rotated_token_revokes_its_whole_family():
    sessions, _ = make_sessions()
    first = sessions.start(7)
    other_sign_in = sessions.start(7)
    second = sessions.refresh(first["refresh_token"])

    with pytest.raises(Unauthorized):
        sessions.refresh(first["refresh_token"])  # somebody kept a copy

    with pytest.raises(Unauthorized):
        sessions.refresh(second["refresh_token"])  # the family is gone...
    assert sessions.refresh(other_sign_in["refresh_token"])  # ...not the other sign-in


def test_sign_out_revokes_the_family_and_an_unknown_token_is_no_error():
    sessions, _ = make_sessions()
    tokens = sessions.start(7)

    sessions.end(tokens["refresh_token"])
    sessions.end("never-issued")

    with pytest.raises(Unauthorized):
        sessions.refresh(tokens["refresh_token"])


def test_an_expired_refresh_token_or_an_inactive_user_is_refused():
    sessions, store = make_sessions()
    tokens = sessions.start(7)
    store.rows[0].expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(Unauthorized):
        sessions.refresh(tokens["refresh_token"])

    sessions, store = make_sessions(active=0)
    tokens = sessions.start(7)
    with pytest.raises(Unauthorized):
        sessions.refresh(tokens["refresh_token"])


def test_unknown_refresh_token_is_refused():
    sessions, _ = make_sessions()
    with pytest.raises(Unauthorized, match="invalid refresh token") as raised:
        sessions.refresh("nope")
    assert raised.value.headers()["WWW-Authenticate"].startswith("Bearer")
