"""silent calling (无声叫号) per service area

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_areas") as batch:
        batch.add_column(
            sa.Column("silent_calling", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("service_areas") as batch:
        batch.drop_column("silent_calling")
