"""ioc_report: reports generated on schedule, kept for download

Revision ID: ioc_0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "ioc_0001"
down_revision = None
branch_labels = ("ioc",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ioc_report",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("xlsx_sha256", sa.String(64), nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ioc_report")),
        sa.UniqueConstraint("kind", "day", name="uq_ioc_report_kind_day"),
    )


def downgrade() -> None:
    op.drop_table("ioc_report")
