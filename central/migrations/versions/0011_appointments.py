"""appointments (预约)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot_at", UtcDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("name_masked", sa.String(length=32), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("phone_masked", sa.String(length=16), nullable=False),
        sa.Column("phone_encrypted", sa.Text(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=True),
        sa.Column("id_masked", sa.String(length=32), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("cancelled_at", UtcDateTime(), nullable=True),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("checked_in_at", UtcDateTime(), nullable=True),
        sa.Column("checked_in_by", sa.String(length=80), nullable=True),
        sa.Column("ticket_id", _BIG, nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_appointments_service_id_services")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_appointments_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("code", name=op.f("uq_appointments_code")),
    )
    op.create_index(
        "ix_appointments_service_slot", "appointments", ["service_id", "day", "slot_at"]
    )
    active = sa.text("state != 'cancelled'")
    op.create_index(
        "uq_appointments_active_phone",
        "appointments",
        ["phone_hash", "service_id", "day"],
        unique=True,
        sqlite_where=active,
        postgresql_where=active,
    )


def downgrade() -> None:
    op.drop_index("uq_appointments_active_phone", table_name="appointments")
    op.drop_index("ix_appointments_service_slot", table_name="appointments")
    op.drop_table("appointments")
