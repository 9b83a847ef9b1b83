"""interpreting (手语翻译): requests, offers, event log

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "interp_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("terminal", sa.String(length=63), nullable=False),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("consent_recording", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("answered_at", UtcDateTime(), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("abandoned_at", UtcDateTime(), nullable=True),
        sa.Column("interpreter_id", sa.Integer(), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["interpreter_id"], ["users.id"], name=op.f("fk_interp_requests_interpreter_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interp_requests")),
    )
    op.create_index("ix_interp_requests_requested_at", "interp_requests", ["requested_at"])
    op.create_table(
        "interp_offers",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("interpreter_id", sa.Integer(), nullable=False),
        sa.Column("offered_at", UtcDateTime(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("result_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["interpreter_id"], ["users.id"], name=op.f("fk_interp_offers_interpreter_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["interp_requests.id"],
            name=op.f("fk_interp_offers_request_id_interp_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interp_offers")),
    )
    op.create_index(op.f("ix_interp_offers_request_id"), "interp_offers", ["request_id"])
    op.create_table(
        "interp_events",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("interpreter_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interpreter_id"], ["users.id"], name=op.f("fk_interp_events_interpreter_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["interp_requests.id"],
            name=op.f("fk_interp_events_request_id_interp_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interp_events")),
    )
    op.create_index(op.f("ix_interp_events_at"), "interp_events", ["at"])
    op.create_index(op.f("ix_interp_events_request_id"), "interp_events", ["request_id"])


def downgrade() -> None:
    op.drop_table("interp_events")
    op.drop_table("interp_offers")
    op.drop_index("ix_interp_requests_requested_at", table_name="interp_requests")
    op.drop_table("interp_requests")
