"""index for call-next: the head of each waiting sub-queue

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_queue_heads",
        "tickets",
        ["service_id", "day", "state", "priority", "queued_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_queue_heads", table_name="tickets")
