"""telemetry: rules from the profile, each rule's state per device, alarms and their notes

Revision ID: telemetry_0002
Revises: telemetry_0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "telemetry_0002"
down_revision = "telemetry_0001"
branch_labels = None
depends_on = None

ThingId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "iot_rule",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("device_type_code", sa.String(length=64), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_rule")),
    )
    op.create_table(
        "iot_rule_state",
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("thing_id", ThingId, nullable=False),
        sa.Column("raised", sa.Boolean(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=True),
        sa.Column("last_time", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["iot_thing.id"],
            name=op.f("fk_iot_rule_state_thing_id_iot_thing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "thing_id", name=op.f("pk_iot_rule_state")),
    )
    op.create_index(
        op.f("ix_iot_rule_state_thing_id"), "iot_rule_state", ["thing_id"], unique=False
    )
    op.create_table(
        "iot_alarm",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("thing_id", ThingId, nullable=False),
        sa.Column("device_code", sa.String(length=100), nullable=True),
        sa.Column("device_type_code", sa.String(length=64), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("raised_at", UtcDateTime(), nullable=False),
        sa.Column("last_raised_at", UtcDateTime(), nullable=False),
        sa.Column("observed_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("cleared_at", UtcDateTime(), nullable=True),
        sa.Column("cleared_by", sa.String(length=100), nullable=True),
        sa.Column("escalated_at", UtcDateTime(), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        # "<rule>:<thing>" while open, NULL once cleared: one open alarm per rule and device.
        sa.Column("open_key", sa.String(length=100), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["iot_thing.id"],
            name=op.f("fk_iot_alarm_thing_id_iot_thing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_alarm")),
        sa.UniqueConstraint("open_key", name=op.f("uq_iot_alarm_open_key")),
    )
    op.create_index(
        op.f("ix_iot_alarm_device_type_code"), "iot_alarm", ["device_type_code"], unique=False
    )
    op.create_index(op.f("ix_iot_alarm_region_code"), "iot_alarm", ["region_code"], unique=False)
    op.create_index("ix_iot_alarm_rule_thing", "iot_alarm", ["rule_id", "thing_id"], unique=False)
    op.create_index(
        "ix_iot_alarm_status_severity", "iot_alarm", ["status", "severity"], unique=False
    )
    op.create_table(
        "iot_alarm_note",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alarm_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["iot_alarm.id"],
            name=op.f("fk_iot_alarm_note_alarm_id_iot_alarm"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_alarm_note")),
    )
    op.create_index(
        op.f("ix_iot_alarm_note_alarm_id"), "iot_alarm_note", ["alarm_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("iot_alarm_note")
    op.drop_table("iot_alarm")
    op.drop_table("iot_rule_state")
    op.drop_table("iot_rule")
