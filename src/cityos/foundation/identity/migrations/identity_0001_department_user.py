"""department and app_user tables

Revision ID: identity_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "identity_0001"
down_revision = None
branch_labels = ("identity",)
depends_on = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "department",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=True),
        sa.Column("sort", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_department"),
        sa.UniqueConstraint("code", name="uq_department_code"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["department.id"], name="fk_department_parent_id_department"
        ),
    )
    op.create_index("ix_department_parent_id", "department", ["parent_id"])
    op.create_table(
        "app_user",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_app_user"),
        sa.UniqueConstraint("username", name="uq_app_user_username"),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name="fk_app_user_department_id_department"
        ),
    )
    op.create_index("ix_app_user_department_id", "app_user", ["department_id"])


def downgrade() -> None:
    op.drop_index("ix_app_user_department_id", table_name="app_user")
    op.drop_table("app_user")
    op.drop_index("ix_department_parent_id", table_name="department")
    op.drop_table("department")
