"""How Alembic reaches the auth database.

`python -m auth.migrate` hands over its connection (`config.attributes["connection"]`), so the
revisions run inside its transaction. The `alembic` command (`make revision`) connects to the URI
of auth/config.yaml (env DATABASE_URI) instead. Autogenerate compares with `auth.models`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from auth.models import Base
from auth.settings import AuthSettings
from common.config import service_config
from common.logs import configure


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_from_the_command_line() -> None:
    config = service_config("auth")
    configure(config)
    url = AuthSettings.from_config(config).database_uri
    if context.is_offline_mode():  # `alembic upgrade head --sql`: print the SQL, run nothing
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        run_migrations(connection)


connection = context.config.attributes.get("connection")
if connection is None:
    run_from_the_command_line()
else:
    run_migrations(connection)
