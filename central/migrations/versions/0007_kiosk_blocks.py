"""kiosk ticketing: number blocks reserved for offline issuing, online requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from central.db import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kiosk_blocks",
        sa.Column("id", _BIG, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=63), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("reserved_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_kiosk_blocks_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_blocks")),
    )
    op.create_index(op.f("ix_kiosk_blocks_device_id"), "kiosk_blocks", ["device_id"])
    op.create_index("ix_kiosk_blocks_service_day", "kiosk_blocks", ["service_id", "day"])
    op.create_table(
        "kiosk_requests",
        sa.Column("device_id", sa.String(length=63), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", _BIG, nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("matter", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_kiosk_requests_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("device_id", "request_id", name=op.f("pk_kiosk_requests")),
    )
    op.create_index(op.f("ix_kiosk_requests_received_at"), "kiosk_requests", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_kiosk_requests_received_at"), table_name="kiosk_requests")
    op.drop_table("kiosk_requests")
    op.drop_index("ix_kiosk_blocks_service_day", table_name="kiosk_blocks")
    op.drop_index(op.f("ix_kiosk_blocks_device_id"), table_name="kiosk_blocks")
    op.drop_table("kiosk_blocks")
