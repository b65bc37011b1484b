"""Auth's settings model: its own checks, and a database URI never shown in an error."""

import pytest

from auth.settings import AuthSettings
from common.config import service_config
from common.settings import InvalidSetting

URI = "postgresql+psycopg2://auth:s3cret@db:5432/users"


def test_the_database_uri_is_the_users_database_of_db_uris():
    config = {**service_config("auth"), "DB_URIS": {"auth:Base": URI}}

    settings = AuthSettings.from_config(config)

    assert settings.database_uri == URI
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"DB_URIS": {"other:Base": URI}}, "DB_URIS must give the users database as 'auth:Base'"),
        ({"DB_URIS": URI}, "DB_URIS must be a mapping"),
        ({"BCRYPT_CONCURRENCY": 0}, "BCRYPT_CONCURRENCY must be at least 1, got 0"),
    ],
)
def test_bad_values_are_named_without_showing_a_uri(overrides, problem):
    with pytest.raises(InvalidSetting, match=f"^auth config: {problem}$") as raised:
        AuthSettings.from_config({**service_config("auth"), **overrides})

    assert "s3cret" not in str(raised.value)
