"""CORS for the broker: which origins may call it from a browser, and the headers that say so."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Accept, Authorization, Content-Type, X-CSRF-Token, X-Request-ID"
MAX_AGE_SECONDS = "300"


@dataclass(frozen=True)
class CorsPolicy:
    """Origins are exact (`http://localhost:8081`) or glob patterns (`http://localhost:*`)."""

    allowed_origins: tuple[str, ...]

    @classmethod
    def from_setting(cls, setting: str | Iterable[str]) -> CorsPolicy:
        if isinstance(setting, str):
            setting = setting.replace(",", " ").split()
        return cls(tuple(setting))

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and any(
            fnmatchcase(origin, allowed) for allowed in self.allowed_origins
        )

    def response_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """Headers for any response to a request from `origin` (none when it is not allowed)."""
        headers = [("Vary", "Origin")]
        if self.allows(origin):
            headers += [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Expose-Headers", "Link, X-Request-ID"),
            ]
        return headers

    def preflight_headers(self, origin: str | None) -> list[tuple[str, str]]:
        headers = self.response_headers(origin)
        if self.allows(origin):
            headers += [
                ("Access-Control-Allow-Methods", ALLOWED_METHODS),
                ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
                ("Access-Control-Max-Age", MAX_AGE_SECONDS),
            ]
        return headers
