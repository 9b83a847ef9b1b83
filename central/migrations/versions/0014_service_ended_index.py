"""index for the wait estimator: each service's latest completions

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_service_ended", "tickets", ["service_id", "day", "ended_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_service_ended", table_name="tickets")
