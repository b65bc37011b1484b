"""CORS for the broker: which origins may call it from a browser, and the headers that say so."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Accept, Authorization, Content-Type, X-CSRF-Token, X-Request-ID"
MAX_AGE_SECONDS = "300"


# What one `*` of a pattern stands for: one host label or a port, never a dot, colon or slash,
# so `http://localhost:*` matches `http://localhost:8081` but not `http://localhost:8081.evil.com`
# (a glob's `*` would match anything).
_WILDCARD = "[A-Za-z0-9-]+"


def origin_pattern(allowed: str) -> re.Pattern[str]:
    """An allowed origin as a pattern matched against the whole Origin header."""
    return re.compile(_WILDCARD.join(re.escape(part) for part in allowed.split("*")))


@dataclass(frozen=True)
class CorsPolicy:
    """Origins are exact (`http://localhost:8081`) or patterns whose `*` stands for a whole port
    or host label (`http://localhost:*`, `https://*.example.com`)."""

    allowed_origins: tuple[str, ...]
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        patterns = tuple(origin_pattern(allowed) for allowed in self.allowed_origins)
        object.__setattr__(self, "_patterns", patterns)

    @classmethod
    def from_setting(cls, setting: str | Iterable[str]) -> CorsPolicy:
        if isinstance(setting, str):
            setting = setting.replace(",", " ").split()
        return cls(tuple(setting))

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and any(pattern.fullmatch(origin) for pattern in self._patterns)

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
