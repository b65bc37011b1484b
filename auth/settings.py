"""Auth's settings, checked once when the service starts and read through the same model by
`python -m auth.migrate`. Defaults are in auth/config.yaml."""

from __future__ import annotations

from pydantic import Field, field_validator

from common.settings import Count, ServiceSettings

# nameko-sqlalchemy's key in DB_URIS for the service "auth" and the declarative base `Base`.
DATABASE_KEY = "auth:Base"


class AuthSettings(ServiceSettings):
    service = "auth"

    # Not repr'd, nor shown in errors: database URIs may carry a password.
    db_uris: dict[str, str] = Field(repr=False)
    # bcrypt checks at once (auth/dependencies.py: Passwords).
    bcrypt_concurrency: Count

    @field_validator("db_uris")
    @classmethod
    def _names_the_users_database(cls, value: dict[str, str]) -> dict[str, str]:
        if not value.get(DATABASE_KEY):
            raise ValueError(f"must give the users database as {DATABASE_KEY!r}")
        return value

    @property
    def database_uri(self) -> str:
        return self.db_uris[DATABASE_KEY]
