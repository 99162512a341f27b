"""contingency plans: definitions, runs, linked tasks, timelines, external warnings

Revision ID: plans_0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "plans_0001"
down_revision = None
branch_labels = ("plans",)
depends_on = None

_OPEN = sa.text("status IN ('proposed', 'active')")


def _serial() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ioc_plan",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=False),
        sa.Column("pack", sa.String(64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ioc_plan")),
    )
    op.create_table(
        "ioc_plan_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_code", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(300), nullable=False),
        sa.Column("level", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=False),
        sa.Column("area", sa.JSON(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("started_by", sa.String(200), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ioc_plan_run")),
    )
    op.create_index("ix_ioc_plan_run_status", "ioc_plan_run", ["status", "plan_code"])
    op.create_index("ix_ioc_plan_run_created", "ioc_plan_run", ["created_at", "id"])
    op.create_index("ix_ioc_plan_run_region_code", "ioc_plan_run", ["region_code"])
    op.create_index(
        "uq_ioc_plan_run_open",
        "ioc_plan_run",
        ["plan_code", "drill"],
        unique=True,
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )
    op.create_table(
        "ioc_plan_task",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.String(3), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("title_zh", sa.String(300), nullable=False),
        sa.Column("title_en", sa.String(500), nullable=False),
        sa.Column("within", sa.String(32), nullable=False),
        sa.Column("report_zh", sa.String(300), nullable=True),
        sa.Column("report_en", sa.String(500), nullable=True),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ioc_plan_task")),
    )
    op.create_index("ix_ioc_plan_task_run", "ioc_plan_task", ["run_id", "created_at"])
    op.create_table(
        "ioc_plan_event",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ioc_plan_event")),
    )
    op.create_index("ix_ioc_plan_event_run", "ioc_plan_event", ["run_id", "id"])
    op.create_table(
        "ioc_warning",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=False),
        sa.Column("area", sa.JSON(), nullable=True),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("posted_by", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("runs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ioc_warning")),
    )
    op.create_index("ix_ioc_warning_received", "ioc_warning", ["received_at", "id"])


def downgrade() -> None:
    for table in ("ioc_warning", "ioc_plan_event", "ioc_plan_task", "ioc_plan_run", "ioc_plan"):
        op.drop_table(table)
