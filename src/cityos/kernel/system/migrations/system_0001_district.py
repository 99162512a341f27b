"""district and profile_load tables

Revision ID: system_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "system_0001"
down_revision = None
branch_labels = ("system",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "district",
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_district"),
    )
    op.create_table(
        "profile_load",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("loaded_at", UtcDateTime(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_profile_load"),
    )
    op.create_index("ix_profile_load_profile", "profile_load", ["profile"])


def downgrade() -> None:
    op.drop_index("ix_profile_load_profile", table_name="profile_load")
    op.drop_table("profile_load")
    op.drop_table("district")
