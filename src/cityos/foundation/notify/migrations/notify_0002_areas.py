"""notify_area_subscription and notify_area_notice: geo-fenced notices to residents

Revision ID: notify_0002
Revises: notify_0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "notify_0002"
down_revision = "notify_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_area_subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.String(50), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_area_subscription")),
    )
    op.create_index("ix_notify_area_subscription_user_id", "notify_area_subscription", ["user_id"])
    op.create_index(
        "ix_notify_area_subscription_region", "notify_area_subscription", ["region_code"]
    )
    op.create_table(
        "notify_area_notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title_zh", sa.String(100), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("area", sa.JSON(), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=True),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("subject_type", sa.String(64), nullable=True),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("sms_pending", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_area_notice")),
    )
    op.create_index("ix_notify_area_notice_created", "notify_area_notice", ["created_at", "id"])


def downgrade() -> None:
    op.drop_table("notify_area_notice")
    op.drop_table("notify_area_subscription")
