"""The users table, as `create_all` made it before Alembic.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

`users_columns()` is the one definition of this first schema: `upgrade()` creates the table from
it, and `python -m auth.migrate` compares a database made before Alembic with it before adopting
that database at this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def users_columns() -> list[sa.Column]:
    """New columns at each call: a column belongs to one table."""
    return [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("first_name", sa.String(255), nullable=False),
        sa.Column("last_name", sa.String(255), nullable=False),
        sa.Column("password", sa.String(60), nullable=False),
        sa.Column("user_active", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def upgrade() -> None:
    op.create_table("users", *users_columns())


def downgrade() -> None:
    op.drop_table("users")
