"""onestop_item: the service-item catalogue (事项清单)

Revision ID: onestop_0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "onestop_0001"
down_revision = None
branch_labels = ("onestop",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "onestop_item",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(300), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("applicant", sa.JSON(), nullable=False),
        sa.Column("legal_days", sa.Integer(), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("life_events", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("pack", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_onestop_item")),
    )
    op.create_index("ix_onestop_item_department", "onestop_item", ["department_code"])


def downgrade() -> None:
    op.drop_table("onestop_item")
