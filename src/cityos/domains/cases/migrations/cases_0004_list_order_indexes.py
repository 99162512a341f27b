"""cases: the list's filter indexes end in its order (created_at, id)

The list pages newest first by (created_at, id); with the id in the index, the page after
a cursor starts exactly at the cursor's row instead of re-reading the cursor's second.

Revision ID: cases_0004
Revises: cases_0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "cases_0004"
down_revision = "cases_0003"
branch_labels = None
depends_on = None

CHANGED = {
    "ix_city_case_subdistrict_status_created": ["subdistrict_code", "status", "created_at"],
    "ix_city_case_category_created": ["category_code", "created_at"],
    "ix_city_case_status_created": ["status", "created_at"],
}


def upgrade() -> None:
    for name, columns in CHANGED.items():
        op.drop_index(name, table_name="city_case")
        op.create_index(name, "city_case", [*columns, "id"])


def downgrade() -> None:
    for name, columns in CHANGED.items():
        op.drop_index(name, table_name="city_case")
        op.create_index(name, "city_case", columns)
