"""Access tokens: JWTs (HS256) that auth signs when a sign-in or a refresh succeeds, and that the
broker checks on every protected request by itself, without asking anyone (no RPC per request).

A token names its user (`sub`, the user id as a string), who signed it (`iss`), when (`iat`) and
until when it is good (`exp`, `ACCESS_TOKEN_SECONDS`, 15 minutes); its header names the key
(`kid`). Keys rotate without signing anyone out: give the new secret as `JWT_SECRET` with a new
`JWT_KEY_ID`, and the old one as `JWT_PREVIOUS_SECRET` / `JWT_PREVIOUS_KEY_ID` until the tokens
it signed have expired (15 minutes): tokens are signed with the current key and checked with
whichever key their `kid` names.

The secret comes from the environment through config.yaml. Outside development
(`ENVIRONMENT`, `development` only in the local config.yaml; compose and Kubernetes say
`production`) a missing, short or placeholder secret stops the service at start.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

import jwt
from pydantic import AfterValidator, Field, model_validator

from common.errors import Unauthorized
from common.settings import ServiceSettings, one_of

ALGORITHM = "HS256"
ENVIRONMENTS = ("development", "production")
# The one environment where the development secret of config.yaml is accepted.
DEVELOPMENT = "development"
MIN_SECRET_BYTES = 32
# Secrets that say they are not one: refused outside development whatever their length.
PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder", "development-only", "secret-here")


class TokenSettings(ServiceSettings):
    """What signing and checking access tokens needs: auth and the broker both read it."""

    environment: Annotated[str, AfterValidator(one_of(*ENVIRONMENTS))]
    jwt_secret: str = Field(repr=False)
    jwt_key_id: Annotated[str, Field(min_length=1)]
    # An earlier key still accepted while the tokens it signed live (key rotation); "" for none.
    jwt_previous_secret: str = Field(repr=False)
    jwt_previous_key_id: str
    jwt_issuer: Annotated[str, Field(min_length=1)]
    access_token_seconds: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _a_real_secret_outside_development(self) -> Self:
        if not self.jwt_secret:
            raise ValueError("JWT_SECRET must not be empty")
        if self.environment == DEVELOPMENT:
            return self
        secrets = {"JWT_SECRET": self.jwt_secret, "JWT_PREVIOUS_SECRET": self.jwt_previous_secret}
        for name, secret in secrets.items():
            if secret and weak_secret(secret):
                raise ValueError(
                    f"{name} must be a real secret of at least {MIN_SECRET_BYTES} bytes outside "
                    f"development (ENVIRONMENT={self.environment}): it is short or a placeholder"
                )
        return self

    @property
    def token_keys(self) -> TokenKeys:
        previous = {}
        if self.jwt_previous_secret and self.jwt_previous_key_id:
            previous = {self.jwt_previous_key_id: self.jwt_previous_secret}
        return TokenKeys(
            key_id=self.jwt_key_id,
            secret=self.jwt_secret,
            previous=previous,
            issuer=self.jwt_issuer,
            lifetime=self.access_token_seconds,
        )


def weak_secret(secret: str) -> bool:
    lowered = secret.lower()
    return len(secret.encode()) < MIN_SECRET_BYTES or any(
        marker in lowered for marker in PLACEHOLDER_MARKERS
    )


class TokenKeys:
    """The current signing key and the earlier ones still accepted, by key id."""

    def __init__(
        self, key_id: str, secret: str, previous: dict[str, str], issuer: str, lifetime: int
    ) -> None:
        self.key_id = key_id
        self.issuer = issuer
        self.lifetime = lifetime
        self._secret = secret
        self._accepted = {**previous, key_id: secret}

    def issue(self, subject: str, now: datetime | None = None) -> str:
        """A signed access token for the user `subject` (its id, as a string)."""
        now = now or datetime.now(UTC)
        claims = {
            "sub": subject,
            "iss": self.issuer,
            "iat": now,
            "exp": now + timedelta(seconds=self.lifetime),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"kid": self.key_id})

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or `Unauthorized` saying what is wrong (never which key exists)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthorized("malformed access token") from None
        key_id = header.get("kid")
        secret = self._accepted.get(key_id) if isinstance(key_id, str) else None
        if secret is None:
            raise Unauthorized("invalid access token")
        try:
            return jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                options={"require": ["sub", "iss", "iat", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("access token expired") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("invalid access token") from None


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or `Unauthorized`."""
    if not authorization:
        raise Unauthorized("an access token is required (Authorization: Bearer <token>)")
    scheme, _, token = authorization.strip().partition(" ")
    if not hmac.compare_digest(scheme.lower(), "bearer") or not token.strip():
        raise Unauthorized("the Authorization header must be Bearer <token>")
    return token.strip()
