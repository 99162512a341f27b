"""iot_observation: one index a row for its identity instead of three

An observation was identified by (stream_key, phenomenon_time) and also indexed by
(datastream_id, …) and (multi_datastream_id, …) for reads: three index entries a row on
the hottest table. Now a partial unique index on each of the two stream columns both
identifies and serves reads, so a row costs one, and stream_key goes.

Revision ID: telemetry_0003
Revises: telemetry_0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "telemetry_0003"
down_revision = "telemetry_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column, name in (
        ("datastream_id", "uq_iot_observation_datastream_time"),
        ("multi_datastream_id", "uq_iot_observation_multi_time"),
    ):
        op.create_index(
            name,
            "iot_observation",
            [column, "phenomenon_time"],
            unique=True,
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )
    op.drop_index("ix_iot_observation_datastream_time", table_name="iot_observation")
    op.drop_index("ix_iot_observation_multi_time", table_name="iot_observation")
    op.drop_index("uq_iot_observation_stream_time", table_name="iot_observation")
    # SQLite 3.35+ drops an unindexed column in place; no table rebuild either way.
    op.drop_column("iot_observation", "stream_key")


def downgrade() -> None:
    op.add_column("iot_observation", sa.Column("stream_key", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE iot_observation SET stream_key = COALESCE(datastream_id, -multi_datastream_id)"
    )
    op.create_index(
        "uq_iot_observation_stream_time",
        "iot_observation",
        ["stream_key", "phenomenon_time"],
        unique=True,
    )
    op.create_index(
        "ix_iot_observation_multi_time",
        "iot_observation",
        ["multi_datastream_id", "phenomenon_time"],
    )
    op.create_index(
        "ix_iot_observation_datastream_time",
        "iot_observation",
        ["datastream_id", "phenomenon_time"],
    )
    op.drop_index("uq_iot_observation_multi_time", table_name="iot_observation")
    op.drop_index("uq_iot_observation_datastream_time", table_name="iot_observation")
