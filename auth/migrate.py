"""Bring the auth database to the newest schema, with its seed user: `python -m auth.migrate`.

Idempotent, in four steps:
1. create the database when it does not exist;
2. adopt a database made before Alembic (by `create_all`: a users table, no `alembic_version`):
   when its table is the one revision 0001 creates, mark it as being at that revision;
3. `alembic upgrade head`: apply the revisions of auth/migrations/versions/ not applied yet;
4. add the seed user `admin@example.com` / `verysecret` when no user has that email.

Steps 2-4 run in one transaction (PostgreSQL's DDL is transactional) under an advisory lock: a
failure changes nothing, and two runs at once (two deployments starting) take turns.

The seed is a step, not a revision: a revision runs once per database, while the seed user comes
back whenever it is missing, as before Alembic; and it is written with today's model, so it must
run once the schema is at head.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, Table, create_engine, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from auth.models import User
from auth.passwords import hash_password
from auth.settings import AuthSettings
from common.config import service_config
from common.logs import configure

log = logging.getLogger(__name__)

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
FIRST_REVISION = "0001"
# pg_advisory_xact_lock key: any constant the system uses for nothing else.
MIGRATION_LOCK = 4_242_001

SEED_USER = {
    "email": "admin@example.com",
    "first_name": "Admin",
    "last_name": "User",
    "user_active": 1,
}
SEED_PASSWORD = "verysecret"


class SchemaMismatch(RuntimeError):
    """A users table made outside the migrations that is not the one revision 0001 makes."""


def ensure_database(uri: str) -> None:
    url = make_url(uri)
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    exists = text("SELECT 1 FROM pg_database WHERE datname = :name")
    try:
        with server.connect() as connection:
            if connection.scalar(exists, {"name": url.database}):
                return
            log.info("creating database %s", url.database)
            try:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
            except DBAPIError:
                # Another run created it between our look and our CREATE (PostgreSQL then says
                # "already exists" or, mid-creation, a unique violation): that is what we wanted.
                if not connection.scalar(exists, {"name": url.database}):
                    raise
    finally:
        server.dispose()


def alembic_config(connection: Connection) -> Config:
    config = Config(ALEMBIC_INI)
    config.attributes["connection"] = connection  # auth/migrations/env.py runs on it
    return config


def adopt_create_all_schema(connection: Connection, config: Config) -> None:
    inspector = inspect(connection)
    if not inspector.has_table("users") or inspector.has_table("alembic_version"):
        return
    first = ScriptDirectory.from_config(config).get_revision(FIRST_REVISION).module
    expected = MetaData()
    Table("users", expected, *first.users_columns())
    context = MigrationContext.configure(
        connection,
        opts={"include_name": lambda name, kind, _: kind != "table" or name == "users"},
    )
    differences = compare_metadata(context, expected)
    if differences:
        raise SchemaMismatch(
            f"the users table was made outside the migrations and differs from revision "
            f"{FIRST_REVISION} ({differences}); make it match, or, if it is usable as it is, "
            f"mark it with `alembic -c auth/alembic.ini stamp {FIRST_REVISION}`"
        )
    log.info("users table made before Alembic: marked as revision %s", FIRST_REVISION)
    command.stamp(config, FIRST_REVISION)


def seed(connection: Connection) -> None:
    """The seed user, when no user has its email (so it comes back if deleted)."""
    found = connection.scalar(select(User.id).where(User.email == SEED_USER["email"]))
    if found is None:
        connection.execute(insert(User).values(**SEED_USER, password=hash_password(SEED_PASSWORD)))
        log.info("seeded user %s", SEED_USER["email"])


def migrate(uri: str) -> None:
    ensure_database(uri)
    engine = create_engine(uri, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config = alembic_config(connection)
            adopt_create_all_schema(connection, config)
            command.upgrade(config, "head")
            seed(connection)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    config = service_config("auth")
    parser = argparse.ArgumentParser(
        prog="python -m auth.migrate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--uri", help="database URI (default: DB_URIS of auth/config.yaml)")
    args = parser.parse_args(argv)
    configure(config)
    uri = args.uri or AuthSettings.from_config(config).database_uri
    try:
        migrate(uri)
    except SchemaMismatch as exc:
        log.error("%s", exc)
        return 1
    print(f"auth schema and seed user are in place ({make_url(uri).render_as_string()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
