"""notify: messages to people and their delivery per channel

Revision ID: notify_0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "notify_0001"
down_revision = None
branch_labels = ("notify",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_message",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient_user_id", sa.Uuid(), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("subject_type", sa.String(64), nullable=True),
        sa.Column("subject_id", sa.String(64), nullable=True),
        sa.Column("link", sa.String(300), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notify_message"),
    )
    op.create_index("ix_notify_message_recipient", "notify_message", ["recipient_user_id", "id"])
    op.create_index("ix_notify_message_unread", "notify_message", ["recipient_user_id", "read_at"])
    op.create_table(
        "notify_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notify_delivery"),
        sa.UniqueConstraint("message_id", "channel", name="uq_notify_delivery_message_id_channel"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notify_message.id"],
            name="fk_notify_delivery_message_id_notify_message",
        ),
    )
    op.create_index("ix_notify_delivery_message_id", "notify_delivery", ["message_id"])


def downgrade() -> None:
    op.drop_table("notify_delivery")
    op.drop_table("notify_message")
