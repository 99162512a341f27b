"""iot_rollup_delta: per-minute sums an ingest batch leaves for the rollup timer to fold

Revision ID: telemetry_0004
Revises: telemetry_0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "telemetry_0004"
down_revision = "telemetry_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iot_rollup_delta",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("datastream_id", sa.BigInteger(), nullable=False),
        sa.Column("bucket_start", UtcDateTime(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_rollup_delta")),
    )


def downgrade() -> None:
    op.drop_table("iot_rollup_delta")
