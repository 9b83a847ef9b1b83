"""ratings (好差评)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("ticket_id", _BIG, nullable=False),
        sa.Column("ticket_number", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("matter", sa.String(length=64), nullable=True),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("clerk_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=63), nullable=True),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(length=200), nullable=True),
        sa.Column("rated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name=op.f("ck_ratings_level")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ratings_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_ratings_service_id_services")
        ),
        sa.ForeignKeyConstraint(
            ["window_id"], ["windows.id"], name=op.f("fk_ratings_window_id_windows")
        ),
        sa.ForeignKeyConstraint(["clerk_id"], ["users.id"], name=op.f("fk_ratings_clerk_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_ratings_ticket_id")),
    )
    op.create_index(op.f("ix_ratings_day"), "ratings", ["day"])
    op.create_index("ix_ratings_window_day", "ratings", ["window_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_ratings_window_day", table_name="ratings")
    op.drop_index(op.f("ix_ratings_day"), table_name="ratings")
    op.drop_table("ratings")
