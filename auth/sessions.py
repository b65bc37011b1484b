"""Signed-in sessions: an access token (a JWT, common/tokens.py) plus a refresh token.

A refresh token is 256 random bits, shown once to the client and stored as its SHA-256, in a
family (one sign-in and its successors). Using it revokes it and issues the next one (rotation);
presenting a revoked token again means two parties hold it, so the whole family is revoked: the
thief and the user are both signed out, and the user signs in again. Signing out revokes the
family. A refresh also checks that the user still exists and is active.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update

from auth.models import RefreshToken, User
from common.errors import Unauthorized
from common.tokens import TokenKeys

INVALID_REFRESH_TOKEN = "invalid refresh token"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Session(Protocol):
    def execute(self, statement: Any, params: Any = ...) -> Any: ...
    def scalars(self, statement: Any) -> Any: ...
    def get(self, entity: Any, ident: Any) -> Any: ...
    def add(self, instance: Any) -> None: ...
    def commit(self) -> None: ...


class RefreshTokenStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, user_id: int, family: str, hashed: str, expires_at: datetime) -> None:
        self._session.add(
            RefreshToken(token_hash=hashed, family=family, user_id=user_id, expires_at=expires_at)
        )
        self._session.commit()

    def take(self, hashed: str) -> RefreshToken | None:
        """The token's row, locked until the next commit (two refreshes with one token: the
        second waits, then finds it revoked)."""
        query = select(RefreshToken).where(RefreshToken.token_hash == hashed).with_for_update()
        return self._session.scalars(query).first()

    def user(self, user_id: int) -> User | None:
        return self._session.get(User, user_id)

    def revoke(self, row: RefreshToken) -> None:
        row.revoked_at = datetime.now(UTC)

    def revoke_family(self, family: str) -> None:
        self._session.execute(
            update(RefreshToken)
            .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        self._session.commit()

    def commit(self) -> None:
        self._session.commit()


class Sessions:
    """Issuing, rotating and revoking tokens; `refresh_lifetime` in seconds."""

    def __init__(self, store: RefreshTokenStore, keys: TokenKeys, refresh_lifetime: int) -> None:
        self._store = store
        self._keys = keys
        self._refresh_lifetime = refresh_lifetime

    def start(self, user_id: int) -> dict[str, Any]:
        """Tokens for a user who just signed in: a new family."""
        return self._issue(user_id, secrets.token_hex(16))

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        row = self._store.take(token_hash(refresh_token))
        if row is None:
            self._store.commit()
            raise Unauthorized(INVALID_REFRESH_TOKEN)
        if row.revoked_at is not None:
            self._store.revoke_family(row.family)  # reuse of a rotated token
            raise Unauthorized(INVALID_REFRESH_TOKEN)
        user = self._store.user(row.user_id)
        if row.expires_at <= datetime.now(UTC) or user is None or user.user_active != 1:
            self._store.revoke_family(row.family)
            raise Unauthorized(INVALID_REFRESH_TOKEN)
        self._store.revoke(row)
        return self._issue(row.user_id, row.family)

    def end(self, refresh_token: str) -> None:
        """Sign out: the token's family is revoked. An unknown token is no error (nothing to
        revoke, and no answer tells which tokens exist)."""
        row = self._store.take(token_hash(refresh_token))
        if row is None:
            self._store.commit()
            return
        self._store.revoke_family(row.family)

    def _issue(self, user_id: int, family: str) -> dict[str, Any]:
        refresh_token = secrets.token_urlsafe(32)
        expires_at = datetime.now(UTC) + timedelta(seconds=self._refresh_lifetime)
        self._store.add(user_id, family, token_hash(refresh_token), expires_at)  # commits
        return {
            "access_token": self._keys.issue(str(user_id)),
            "token_type": "Bearer",
            "expires_in": self._keys.lifetime,
            "refresh_token": refresh_token,
        }
