"""privacy_key table

Revision ID: privacy_0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "privacy_0001"
down_revision = None
branch_labels = ("privacy",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_key",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("retired_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_key"),
    )
    op.create_index("ix_privacy_key_status", "privacy_key", ["status"])


def downgrade() -> None:
    op.drop_index("ix_privacy_key_status", table_name="privacy_key")
    op.drop_table("privacy_key")
