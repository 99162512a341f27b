"""ioc_resource: teams, vehicles, materials and shelters a plan sends or opens

Revision ID: plans_0002
Revises: plans_0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "plans_0002"
down_revision = "plans_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ioc_resource",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(300), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("pack", sa.String(64), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ioc_resource")),
    )
    op.create_index("ix_ioc_resource_type_status", "ioc_resource", ["type", "status"])
    op.create_index("ix_ioc_resource_region_code", "ioc_resource", ["region_code"])
    op.create_index("ix_ioc_resource_run_id", "ioc_resource", ["run_id"])


def downgrade() -> None:
    op.drop_table("ioc_resource")
