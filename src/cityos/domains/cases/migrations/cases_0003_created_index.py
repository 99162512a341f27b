"""cases: an index on the creation time (a period's evaluation, the newest-first list)

Revision ID: cases_0003
Revises: cases_0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "cases_0003"
down_revision = "cases_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_city_case_created_at", "city_case", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_city_case_created_at", table_name="city_case")
