"""API keys for devices and systems: a keyed hash, an owner, scopes and an expiry

Revision ID: identity_0003
Revises: identity_0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "identity_0003"
down_revision = "identity_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("last_used_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_key"),
        sa.UniqueConstraint("prefix", name="uq_api_key_prefix"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_api_key_user_id_app_user"),
    )
    op.create_index("ix_api_key_user_id", "api_key", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_api_key_user_id", table_name="api_key")
    op.drop_table("api_key")
