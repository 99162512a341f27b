"""audit_record and audit_checkpoint tables, append-only by trigger

Revision ID: audit_0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "audit_0001"
down_revision = None
branch_labels = ("audit",)
depends_on = None

_TABLES = ("audit_record", "audit_checkpoint")

_PG_FUNCTION = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of ``table`` in the database."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )
        return
    for verb in ("update", "delete"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: {verb} on {table} "
            "refused'); END"
        )


def upgrade() -> None:
    op.create_table(
        "audit_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target_type", sa.String(100), nullable=False),
        sa.Column("target_id", sa.String(200), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("purpose", sa.String(500), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_record"),
        sa.CheckConstraint(
            "outcome IN ('success', 'failure', 'denied')", name="ck_audit_record_outcome"
        ),
    )
    op.create_index("ix_audit_record_seq", "audit_record", ["seq"], unique=True)
    op.create_index("ix_audit_record_occurred_at", "audit_record", ["occurred_at"])
    op.create_index("ix_audit_record_actor", "audit_record", ["actor"])
    op.create_index("ix_audit_record_action", "audit_record", ["action"])
    op.create_index("ix_audit_record_target_type", "audit_record", ["target_type", "target_id"])
    op.create_table(
        "audit_checkpoint",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_checkpoint"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
    for table in _TABLES:
        _append_only(table)


def downgrade() -> None:
    # Dropping a table drops its triggers with it.
    op.drop_table("audit_checkpoint")
    op.drop_index("ix_audit_record_target_type", table_name="audit_record")
    op.drop_index("ix_audit_record_action", table_name="audit_record")
    op.drop_index("ix_audit_record_actor", table_name="audit_record")
    op.drop_index("ix_audit_record_occurred_at", table_name="audit_record")
    op.drop_index("ix_audit_record_seq", table_name="audit_record")
    op.drop_table("audit_record")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_refuse_change()")
