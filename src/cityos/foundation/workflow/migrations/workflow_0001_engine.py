"""workflow engine: definitions, instances and their history

Revision ID: workflow_0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "workflow_0001"
down_revision = None
branch_labels = ("workflow",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_definition",
        sa.Column("workflow_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("loaded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "version", name="pk_workflow_definition"),
    )
    op.create_table(
        "workflow_instance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("state_seq", sa.Integer(), nullable=False),
        sa.Column("state_entered_at", UtcDateTime(), nullable=False),
        sa.Column("warn_at", UtcDateTime(), nullable=True),
        sa.Column("due_at", UtcDateTime(), nullable=True),
        sa.Column("overall_due_at", UtcDateTime(), nullable=True),
        sa.Column("region_code", sa.String(15), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_user_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_role", sa.String(64), nullable=True),
        sa.Column("owner_user_id", sa.Uuid(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_instance"),
    )
    op.create_index("ix_workflow_instance_region_code", "workflow_instance", ["region_code"])
    op.create_index("ix_workflow_instance_owner_user_id", "workflow_instance", ["owner_user_id"])
    op.create_index(
        "ix_workflow_instance_subject", "workflow_instance", ["subject_type", "subject_id"]
    )
    op.create_index(
        "ix_workflow_instance_open_role", "workflow_instance", ["closed_at", "assignee_role"]
    )
    op.create_index(
        "ix_workflow_instance_open_user", "workflow_instance", ["closed_at", "assignee_user_id"]
    )
    op.create_index("ix_workflow_instance_open_due", "workflow_instance", ["closed_at", "due_at"])
    op.create_table(
        "workflow_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(64), nullable=True),
        sa.Column("to_state", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_event"),
        sa.UniqueConstraint("instance_id", "seq", name="uq_workflow_event_instance_id_seq"),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["workflow_instance.id"],
            name="fk_workflow_event_instance_id_workflow_instance",
        ),
    )
    op.create_index("ix_workflow_event_instance_id", "workflow_event", ["instance_id"])


def downgrade() -> None:
    op.drop_table("workflow_event")
    op.drop_table("workflow_instance")
    op.drop_table("workflow_definition")
