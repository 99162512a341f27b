"""cases: categories, routing rules, cases and their daily numbering

Revision ID: cases_0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "cases_0001"
down_revision = None
branch_labels = ("cases",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_category",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("major_code", sa.String(8), nullable=False),
        sa.Column("major_name_zh", sa.String(50), nullable=False),
        sa.Column("major_name_en", sa.String(100), nullable=False),
        sa.Column("name_zh", sa.String(50), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("sign_limit", sa.String(32), nullable=False),
        sa.Column("handle_limit", sa.String(32), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_case_category"),
    )
    op.create_index("ix_case_category_major_code", "case_category", ["major_code"])
    op.create_table(
        "case_routing_rule",
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("category_pattern", sa.String(32), nullable=False),
        sa.Column("region_pattern", sa.String(32), nullable=False),
        sa.Column("lead_department_code", sa.String(64), nullable=False),
        sa.Column("assist_department_codes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_case_routing_rule"),
    )
    op.create_table(
        "city_case",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(100), nullable=True),
        sa.Column("request_type", sa.String(16), nullable=False),
        sa.Column("category_code", sa.String(16), nullable=True),
        sa.Column("suggested_category_code", sa.String(16), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("region_code", sa.String(15), nullable=True),
        sa.Column("community_code", sa.String(15), nullable=True),
        sa.Column("subdistrict_code", sa.String(15), nullable=True),
        sa.Column("outside_reason", sa.String(200), nullable=True),
        sa.Column("reporter_user_id", sa.Uuid(), nullable=True),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("reporter_phone", sa.Text(), nullable=True),
        sa.Column("reporter_phone_bidx", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("workflow_instance_id", sa.Uuid(), nullable=True),
        sa.Column("lead_department_id", sa.Uuid(), nullable=True),
        sa.Column("assist_department_ids", sa.JSON(), nullable=False),
        sa.Column("master_case_id", sa.Uuid(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=True),
        sa.Column("registered_at", UtcDateTime(), nullable=True),
        sa.Column("dispatched_at", UtcDateTime(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_city_case"),
        sa.UniqueConstraint("number", name="uq_city_case_number"),
        sa.UniqueConstraint("channel", "source_ref", name="uq_city_case_channel_source_ref"),
    )
    for column in ("region_code", "reporter_user_id", "reporter_phone_bidx"):
        op.create_index(f"ix_city_case_{column}", "city_case", [column])
    op.create_index("ix_city_case_lead_department_id", "city_case", ["lead_department_id"])
    op.create_index("ix_city_case_master_case_id", "city_case", ["master_case_id"])
    op.create_index(
        "ix_city_case_subdistrict_status_created",
        "city_case",
        ["subdistrict_code", "status", "created_at"],
    )
    op.create_index("ix_city_case_category_created", "city_case", ["category_code", "created_at"])
    op.create_index("ix_city_case_status_created", "city_case", ["status", "created_at"])
    op.create_table(
        "case_number",
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_case_number"),
    )


def downgrade() -> None:
    for table in ("case_number", "city_case", "case_routing_rule", "case_category"):
        op.drop_table(table)
