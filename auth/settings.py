"""Auth's settings, checked once when the service starts and read through the same model by
`python -m auth.migrate`. Defaults are in auth/config.yaml."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, NonNegativeInt, field_validator

from auth.throttling import Limit
from common.settings import Count, Seconds
from common.tokens import TokenSettings

# nameko-sqlalchemy's key in DB_URIS for the service "auth" and the declarative base `Base`.
DATABASE_KEY = "auth:Base"


class AuthSettings(TokenSettings):
    service = "auth"

    # Not repr'd, nor shown in errors: database URIs may carry a password.
    db_uris: dict[str, str] = Field(repr=False)
    # bcrypt checks at once (auth/dependencies.py: Passwords), and checks that may wait for one.
    bcrypt_concurrency: Count
    bcrypt_queue_limit: NonNegativeInt
    bcrypt_per_client: Count
    refresh_token_seconds: Annotated[int, Field(ge=60)]
    # Sign-in throttling (auth/throttling.py): failures allowed per window, window in seconds.
    login_account_max_failures: Count
    login_account_window: Seconds
    login_address_max_failures: Count
    login_address_window: Seconds

    @field_validator("db_uris")
    @classmethod
    def _names_the_users_database(cls, value: dict[str, str]) -> dict[str, str]:
        if not value.get(DATABASE_KEY):
            raise ValueError(f"must give the users database as {DATABASE_KEY!r}")
        return value

    @property
    def database_uri(self) -> str:
        return self.db_uris[DATABASE_KEY]

    @property
    def account_limit(self) -> Limit:
        return Limit(self.login_account_max_failures, self.login_account_window)

    @property
    def address_limit(self) -> Limit:
        return Limit(self.login_address_max_failures, self.login_address_window)
