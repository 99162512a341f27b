"""telemetry: the SensorThings entities with the device registry, observations (partitioned
by month on PostgreSQL) and rollups

Revision ID: telemetry_0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "telemetry_0001"
down_revision = None
branch_labels = ("telemetry",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iot_device_type",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("observes", sa.JSON(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_iot_device_type")),
    )
    op.create_table(
        "iot_location",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(length=100), nullable=False),
        sa.Column("location", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_location")),
    )
    op.create_table(
        "iot_observation",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("phenomenon_time", UtcDateTime(), nullable=False),
        sa.Column("stream_key", sa.BigInteger(), nullable=False),
        sa.Column("datastream_id", sa.BigInteger(), nullable=True),
        sa.Column("multi_datastream_id", sa.BigInteger(), nullable=True),
        sa.Column("phenomenon_time_end", UtcDateTime(), nullable=True),
        sa.Column("result_time", UtcDateTime(), nullable=True),
        sa.Column("result_number", sa.Float(), nullable=True),
        sa.Column("result_json", sa.JSON(), nullable=True),
        sa.Column("result_quality", sa.JSON(), nullable=True),
        sa.Column("valid_time_start", UtcDateTime(), nullable=True),
        sa.Column("valid_time_end", UtcDateTime(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("feature_of_interest_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", "phenomenon_time", name=op.f("pk_iot_observation")),
        postgresql_partition_by="RANGE (phenomenon_time)",
    )
    if op.get_bind().dialect.name == "postgresql":
        # Months get their own partitions as data arrives (service.ensure_partitions);
        # anything outside them, e.g. an old backfill, lands here.
        op.execute("CREATE TABLE iot_observation_pdefault PARTITION OF iot_observation DEFAULT")
        # Observation ids come from here, a batch at a time (ingest.observation_ids).
        op.execute("CREATE SEQUENCE iot_observation_id_seq")
    op.create_index(
        "ix_iot_observation_datastream_time",
        "iot_observation",
        ["datastream_id", "phenomenon_time"],
        unique=False,
    )
    op.create_index(
        "ix_iot_observation_multi_time",
        "iot_observation",
        ["multi_datastream_id", "phenomenon_time"],
        unique=False,
    )
    op.create_index(
        "uq_iot_observation_stream_time",
        "iot_observation",
        ["stream_key", "phenomenon_time"],
        unique=True,
    )
    op.create_table(
        "iot_observed_property",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_observed_property")),
        sa.UniqueConstraint("code", name=op.f("uq_iot_observed_property_code")),
    )
    op.create_table(
        "iot_rollup",
        sa.Column("datastream_id", sa.BigInteger(), nullable=False),
        sa.Column("bucket_seconds", sa.Integer(), nullable=False),
        sa.Column("bucket_start", UtcDateTime(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "datastream_id", "bucket_seconds", "bucket_start", name=op.f("pk_iot_rollup")
        ),
    )
    op.create_table(
        "iot_sensor",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(length=100), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_sensor")),
    )
    op.create_table(
        "iot_feature_of_interest",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(length=100), nullable=False),
        sa.Column("feature", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["iot_location.id"],
            name=op.f("fk_iot_feature_of_interest_location_id_iot_location"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_feature_of_interest")),
        sa.UniqueConstraint("location_id", name=op.f("uq_iot_feature_of_interest_location_id")),
    )
    op.create_table(
        "iot_thing",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("code", sa.String(length=100), nullable=True),
        sa.Column("device_type_code", sa.String(length=64), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("secret_hash", sa.String(length=128), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_type_code"],
            ["iot_device_type.code"],
            name=op.f("fk_iot_thing_device_type_code_iot_device_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_thing")),
        sa.UniqueConstraint("code", name=op.f("uq_iot_thing_code")),
    )
    op.create_index(
        op.f("ix_iot_thing_device_type_code"), "iot_thing", ["device_type_code"], unique=False
    )
    op.create_index(op.f("ix_iot_thing_region_code"), "iot_thing", ["region_code"], unique=False)
    op.create_index(
        "ix_iot_thing_type_status", "iot_thing", ["device_type_code", "status"], unique=False
    )
    op.create_table(
        "iot_datastream",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("observation_type", sa.String(length=200), nullable=False),
        sa.Column("unit_of_measurement", sa.JSON(), nullable=False),
        sa.Column("observed_area", sa.JSON(), nullable=True),
        sa.Column("phenomenon_time_start", UtcDateTime(), nullable=True),
        sa.Column("phenomenon_time_end", UtcDateTime(), nullable=True),
        sa.Column("result_time_start", UtcDateTime(), nullable=True),
        sa.Column("result_time_end", UtcDateTime(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "sensor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "observed_property_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("last_time", UtcDateTime(), nullable=True),
        sa.Column("last_result", sa.JSON(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["observed_property_id"],
            ["iot_observed_property.id"],
            name=op.f("fk_iot_datastream_observed_property_id_iot_observed_property"),
        ),
        sa.ForeignKeyConstraint(
            ["sensor_id"], ["iot_sensor.id"], name=op.f("fk_iot_datastream_sensor_id_iot_sensor")
        ),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["iot_thing.id"],
            name=op.f("fk_iot_datastream_thing_id_iot_thing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_datastream")),
    )
    op.create_index(
        op.f("ix_iot_datastream_observed_property_id"),
        "iot_datastream",
        ["observed_property_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_iot_datastream_sensor_id"), "iot_datastream", ["sensor_id"], unique=False
    )
    op.create_index(
        op.f("ix_iot_datastream_thing_id"), "iot_datastream", ["thing_id"], unique=False
    )
    op.create_table(
        "iot_historical_location",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("time", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["iot_thing.id"],
            name=op.f("fk_iot_historical_location_thing_id_iot_thing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_historical_location")),
    )
    op.create_index(
        op.f("ix_iot_historical_location_thing_id"),
        "iot_historical_location",
        ["thing_id"],
        unique=False,
    )
    op.create_table(
        "iot_multi_datastream",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("observation_type", sa.String(length=200), nullable=False),
        sa.Column("multi_observation_data_types", sa.JSON(), nullable=False),
        sa.Column("unit_of_measurements", sa.JSON(), nullable=False),
        sa.Column("observed_area", sa.JSON(), nullable=True),
        sa.Column("phenomenon_time_start", UtcDateTime(), nullable=True),
        sa.Column("phenomenon_time_end", UtcDateTime(), nullable=True),
        sa.Column("result_time_start", UtcDateTime(), nullable=True),
        sa.Column("result_time_end", UtcDateTime(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "sensor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("last_time", UtcDateTime(), nullable=True),
        sa.Column("last_result", sa.JSON(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sensor_id"],
            ["iot_sensor.id"],
            name=op.f("fk_iot_multi_datastream_sensor_id_iot_sensor"),
        ),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["iot_thing.id"],
            name=op.f("fk_iot_multi_datastream_thing_id_iot_thing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_multi_datastream")),
    )
    op.create_index(
        op.f("ix_iot_multi_datastream_sensor_id"),
        "iot_multi_datastream",
        ["sensor_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_iot_multi_datastream_thing_id"), "iot_multi_datastream", ["thing_id"], unique=False
    )
    op.create_table(
        "iot_thing_location",
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["iot_location.id"],
            name=op.f("fk_iot_thing_location_location_id_iot_location"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["iot_thing.id"],
            name=op.f("fk_iot_thing_location_thing_id_iot_thing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thing_id", "location_id", name=op.f("pk_iot_thing_location")),
    )
    op.create_index(
        op.f("ix_iot_thing_location_location_id"),
        "iot_thing_location",
        ["location_id"],
        unique=False,
    )
    op.create_table(
        "iot_historical_location_location",
        sa.Column(
            "historical_location_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["historical_location_id"],
            ["iot_historical_location.id"],
            name=op.f(
                "fk_iot_historical_location_location_historical_location_id_iot_historical_location"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["iot_location.id"],
            name=op.f("fk_iot_historical_location_location_location_id_iot_location"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "historical_location_id",
            "location_id",
            name=op.f("pk_iot_historical_location_location"),
        ),
    )
    op.create_index(
        op.f("ix_iot_historical_location_location_location_id"),
        "iot_historical_location_location",
        ["location_id"],
        unique=False,
    )
    op.create_table(
        "iot_multi_datastream_property",
        sa.Column(
            "multi_datastream_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "observed_property_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["multi_datastream_id"],
            ["iot_multi_datastream.id"],
            name=op.f("fk_iot_multi_datastream_property_multi_datastream_id_iot_multi_datastream"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["observed_property_id"],
            ["iot_observed_property.id"],
            name=op.f(
                "fk_iot_multi_datastream_property_observed_property_id_iot_observed_property"
            ),
        ),
        sa.PrimaryKeyConstraint(
            "multi_datastream_id", "position", name=op.f("pk_iot_multi_datastream_property")
        ),
    )
    op.create_index(
        op.f("ix_iot_multi_datastream_property_observed_property_id"),
        "iot_multi_datastream_property",
        ["observed_property_id"],
        unique=False,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS iot_observation_id_seq")
    op.drop_table("iot_multi_datastream_property")
    op.drop_table("iot_historical_location_location")
    op.drop_table("iot_thing_location")
    op.drop_table("iot_multi_datastream")
    op.drop_table("iot_historical_location")
    op.drop_table("iot_datastream")
    op.drop_table("iot_thing")
    op.drop_table("iot_feature_of_interest")
    op.drop_table("iot_sensor")
    op.drop_table("iot_rollup")
    op.drop_table("iot_observed_property")
    op.drop_table("iot_observation")
    op.drop_table("iot_location")
    op.drop_table("iot_device_type")
