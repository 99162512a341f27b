"""cases: the step times and on-time flags evaluation counts

Revision ID: cases_0002
Revises: cases_0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "cases_0002"
down_revision = "cases_0001"
branch_labels = None
depends_on = None

_COUNTS = ("returned_count", "extension_count", "rework_count", "supervised_count")


def upgrade() -> None:
    for column in (
        sa.Column("signed_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("signed_on_time", sa.Boolean(), nullable=True),
        sa.Column("handled_on_time", sa.Boolean(), nullable=True),
        sa.Column("closed_on_time", sa.Boolean(), nullable=True),
        sa.Column("handling_seconds", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in _COUNTS),
    ):
        op.add_column("city_case", column)


def downgrade() -> None:
    with op.batch_alter_table("city_case") as batch:
        for name in (
            "signed_at",
            "resolved_at",
            "signed_on_time",
            "handled_on_time",
            "closed_on_time",
            "handling_seconds",
            *_COUNTS,
        ):
            batch.drop_column(name)
