"""In-memory stand-ins for auth's stores, with the same methods and meaning."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from time import monotonic

from auth.models import RefreshToken, User
from auth.throttling import Count


class FakeThrottle:
    """ThrottleStore's fixed windows, in a dict."""

    def __init__(self) -> None:
        self.windows: dict[str, list[float]] = {}  # key -> [hits, started]

    def count(self, key: str, window_seconds: float) -> Count:
        now = monotonic()
        window = self.windows.get(key)
        if window is None or window[1] <= now - window_seconds:
            window = self.windows[key] = [0, now]
        window[0] += 1
        retry_after = max(1, math.ceil(window[1] + window_seconds - now))
        return Count(hits=int(window[0]), retry_after=retry_after)

    def take_back(self, key: str) -> None:
        if key in self.windows:
            self.windows[key][0] = max(0, self.windows[key][0] - 1)

    def clear(self, key: str) -> None:
        self.windows.pop(key, None)

    def sweep(self, older_than_seconds: float) -> int:
        return 0


class FakeRefreshTokens:
    """RefreshTokenStore over a list of rows."""

    def __init__(self, users: list[User]) -> None:
        self.users = {user.id: user for user in users}
        self.rows: list[RefreshToken] = []

    def add(self, user_id: int, family: str, hashed: str, expires_at: datetime) -> None:
        self.rows.append(
            RefreshToken(
                token_hash=hashed,
                family=family,
                user_id=user_id,
                expires_at=expires_at,
                revoked_at=None,
            )
        )

    def take(self, hashed: str) -> RefreshToken | None:
        return next((row for row in self.rows if row.token_hash == hashed), None)

    def user(self, user_id: int) -> User | None:
        return self.users.get(user_id)

    def revoke(self, row: RefreshToken) -> None:
        row.revoked_at = datetime.now(UTC)

    def revoke_family(self, family: str) -> None:
        for row in self.rows:
            if row.family == family and row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)

    def commit(self) -> None:
        pass
