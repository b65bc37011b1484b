"""`python -m auth.migrate` on real PostgreSQL: a database of its own per test, dropped after."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from auth.migrate import ALEMBIC_INI, FIRST_REVISION, SEED_USER, SchemaMismatch, migrate
from auth.models import Base
from auth.passwords import check_password
from common.config import ROOT
from testing.infrastructure import POSTGRES_ADMIN_URI

# What `Base.metadata.create_all` made before Alembic, written out so that this test keeps
# meaning the old schema when the models move on.
CREATE_ALL_USERS_TABLE = """
CREATE TABLE users (
    id SERIAL NOT NULL,
    email VARCHAR(255) NOT NULL,
    first_name VARCHAR(255) NOT NULL,
    last_name VARCHAR(255) NOT NULL,
    password VARCHAR(60) NOT NULL,
    user_active INTEGER DEFAULT '0' NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (email)
)
"""


def admin(sql: str) -> None:
    connection = psycopg2.connect(POSTGRES_ADMIN_URI)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


@pytest.fixture
def database() -> Iterator[str]:
    """The URI of a database that does not exist yet; dropped after the test, whatever happened."""
    name = f"auth_migrate_test_{uuid.uuid4().hex[:8]}"
    base = POSTGRES_ADMIN_URI.replace("postgresql://", "postgresql+psycopg2://", 1)
    try:
        yield f"{base.rsplit('/', 1)[0]}/{name}"
    finally:
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def query(uri: str, sql: str) -> list[tuple]:
    engine = create_engine(uri, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def execute(uri: str, *statements: str) -> None:
    engine = create_engine(uri, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def head() -> str:
    return ScriptDirectory.from_config(Config(ALEMBIC_INI)).get_current_head()


def test_a_fresh_database_is_created_brought_to_head_and_seeded(database):
    migrate(database)

    assert query(database, "SELECT version_num FROM alembic_version") == [(head(),)]
    [(email, first, last, active, hashed)] = query(
        database, "SELECT email, first_name, last_name, user_active, password FROM users"
    )
    assert (email, first, last, active) == ("admin@example.com", "Admin", "User", 1)
    assert hashed.startswith("$2b$12$") and check_password("verysecret", hashed)


def test_a_database_made_by_create_all_is_adopted_with_its_users(database):
    admin(f"CREATE DATABASE {database.rsplit('/', 1)[1]}")
    execute(
        database,
        CREATE_ALL_USERS_TABLE,
        "INSERT INTO users (email, first_name, last_name, password, user_active)"
        " VALUES ('old@example.com', 'Old', 'User', 'hash', 1)",
    )

    migrate(database)

    assert query(database, "SELECT version_num FROM alembic_version") == [(head(),)]
    emails = [email for (email,) in query(database, "SELECT email FROM users ORDER BY id")]
    assert emails == ["old@example.com", SEED_USER["email"]]


def test_a_users_table_that_differs_is_refused_and_left_as_it_was(database):
    admin(f"CREATE DATABASE {database.rsplit('/', 1)[1]}")
    execute(database, "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT)")

    with pytest.raises(SchemaMismatch, match=f"differs from revision {FIRST_REVISION}"):
        migrate(database)

    tables = query(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == [("users",)]  # no alembic_version: nothing was committed


def test_running_it_again_changes_nothing(database):
    migrate(database)
    before = query(database, "SELECT id, email, password, created_at FROM users")

    migrate(database)

    assert query(database, "SELECT id, email, password, created_at FROM users") == before
    assert query(database, "SELECT version_num FROM alembic_version") == [(head(),)]


def test_a_deleted_seed_user_comes_back(database):
    migrate(database)
    execute(database, "DELETE FROM users")

    migrate(database)

    assert query(database, "SELECT email FROM users") == [(SEED_USER["email"],)]


def test_the_models_and_the_migrations_agree(database):
    """What `alembic revision --autogenerate` would write for the models at head: nothing."""
    migrate(database)
    engine = create_engine(database, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()

    assert differences == []


def test_the_command_runs_twice_at_once_and_both_succeed(database):
    """`python -m auth.migrate --uri`, as `make migrate` and the deployments run it: two runs at
    once (two deployments starting) take turns on the advisory lock."""
    command = [sys.executable, "-m", "auth.migrate", "--uri", database]
    runs = [
        subprocess.Popen(command, cwd=ROOT, env=os.environ, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        outputs = [run.communicate(timeout=60)[0] for run in runs]
    finally:
        for run in runs:
            run.kill()

    assert [run.returncode for run in runs] == [0, 0]
    assert all("auth schema and seed user are in place" in output for output in outputs)
    assert query(database, "SELECT count(*) FROM users") == [(1,)]
