"""Apply the auth schema and seed user: `python -m auth.migrate` (idempotent).

Creates the database when it does not exist, the `users` table when it does not exist, and the
seed user `admin@example.com` / `verysecret` when no user has that email.
"""

from __future__ import annotations

import argparse
import logging

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from auth.models import Base, User
from auth.passwords import hash_password
from common.config import service_config

log = logging.getLogger(__name__)

SEED_USER = {
    "email": "admin@example.com",
    "first_name": "Admin",
    "last_name": "User",
    "user_active": 1,
}
SEED_PASSWORD = "verysecret"


def ensure_database(uri: str) -> None:
    url = make_url(uri)
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        )
        if not exists:
            log.info("creating database %s", url.database)
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    server.dispose()


def migrate(uri: str) -> None:
    ensure_database(uri)
    engine = create_engine(uri)
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        if session.scalar(select(User.id).where(User.email == SEED_USER["email"])) is None:
            session.add(User(**SEED_USER, password=hash_password(SEED_PASSWORD)))
            log.info("seeded user %s", SEED_USER["email"])
    engine.dispose()


def main() -> None:
    default_uri = service_config("auth")["DB_URIS"]["auth:Base"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default=default_uri, help="database URI (default: from config)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    migrate(args.uri)
    print(f"auth schema and seed user are in place ({make_url(args.uri).render_as_string()})")


if __name__ == "__main__":
    main()
