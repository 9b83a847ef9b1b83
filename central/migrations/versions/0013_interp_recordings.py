"""interpreting: recordings the sign-language terminals reported

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db import UtcDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "interp_recordings",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("segment", sa.Integer(), nullable=False),
        sa.Column("terminal", sa.String(length=63), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("file", sa.String(length=100), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["interp_requests.id"],
            name=op.f("fk_interp_recordings_request_id_interp_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interp_recordings")),
        sa.UniqueConstraint(
            "request_id", "segment", name=op.f("uq_interp_recordings_request_id_segment")
        ),
    )


def downgrade() -> None:
    op.drop_table("interp_recordings")
