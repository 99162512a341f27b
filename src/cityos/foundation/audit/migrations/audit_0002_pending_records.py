"""audit_record rows are written pending and sealed into the chain after

The chain fields (seq, prev_hash, hash) become nullable; the UPDATE trigger now lets one
update through, the one that fills a pending row's chain fields, and refuses any other.
(occurred_at, id) replaces the occurred_at index: the trail is listed and sealed in that
order, and a partial index finds the pending rows.

Revision ID: audit_0002
Revises: audit_0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "audit_0002"
down_revision = "audit_0001"
branch_labels = None
depends_on = None

# Every column but the chain fields: a seal may not touch them.
_KEPT = (
    "id",
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "ip",
    "request_id",
    "purpose",
)

_PG_SEAL_ONLY = f"""
CREATE FUNCTION audit_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.hash IS NULL AND NEW.hash IS NOT NULL AND NEW.seq IS NOT NULL
        AND NEW.prev_hash IS NOT NULL
        AND ({", ".join(f"NEW.{c}" for c in _KEPT)}, NEW.details::text)
            IS NOT DISTINCT FROM ({", ".join(f"OLD.{c}" for c in _KEPT)}, OLD.details::text)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

_SQLITE_SEAL_ONLY = f"""
CREATE TRIGGER audit_record_no_update BEFORE UPDATE ON audit_record
WHEN OLD.hash IS NOT NULL OR NEW.hash IS NULL OR NEW.seq IS NULL OR NEW.prev_hash IS NULL
    OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in (*_KEPT, "details"))}
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: update on audit_record refused'); END
"""

_SQLITE_NO_DELETE = """
CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: delete on audit_record refused'); END
"""


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP TRIGGER audit_record_append_only ON audit_record")
    else:
        # The batch rebuild below copies the table; its triggers are made again after.
        op.execute("DROP TRIGGER audit_record_no_update")
        op.execute("DROP TRIGGER audit_record_no_delete")
    with op.batch_alter_table("audit_record") as batch:
        for column, kind in (
            ("seq", sa.BigInteger()),
            ("prev_hash", sa.String(64)),
            ("hash", sa.String(64)),
        ):
            batch.alter_column(column, existing_type=kind, nullable=True)
        batch.drop_index("ix_audit_record_occurred_at")
        batch.create_index("ix_audit_record_occurred_at_id", ["occurred_at", "id"])
    op.create_index(
        "ix_audit_record_pending",
        "audit_record",
        ["occurred_at", "id"],
        postgresql_where=sa.text("hash IS NULL"),
        sqlite_where=sa.text("hash IS NULL"),
    )
    if postgresql:
        op.execute(_PG_SEAL_ONLY)
        op.execute(
            "CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER audit_record_seal_only BEFORE UPDATE ON audit_record "
            "FOR EACH ROW EXECUTE FUNCTION audit_seal_only()"
        )
    else:
        op.execute(_SQLITE_SEAL_ONLY)
        op.execute(_SQLITE_NO_DELETE)


def downgrade() -> None:
    # Pending rows cannot go back to NOT NULL columns: seal them first (cityos audit seal).
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM audit_record WHERE hash IS NULL")).scalar():
        raise RuntimeError("audit_record holds pending rows: run `cityos audit seal` first")
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP TRIGGER audit_record_seal_only ON audit_record")
        op.execute("DROP TRIGGER audit_record_no_delete ON audit_record")
        op.execute("DROP FUNCTION audit_seal_only()")
    else:
        op.execute("DROP TRIGGER audit_record_no_update")
        op.execute("DROP TRIGGER audit_record_no_delete")
    op.drop_index("ix_audit_record_pending", table_name="audit_record")
    with op.batch_alter_table("audit_record") as batch:
        batch.drop_index("ix_audit_record_occurred_at_id")
        batch.create_index("ix_audit_record_occurred_at", ["occurred_at"])
        for column, kind in (
            ("seq", sa.BigInteger()),
            ("prev_hash", sa.String(64)),
            ("hash", sa.String(64)),
        ):
            batch.alter_column(column, existing_type=kind, nullable=False)
    if postgresql:
        op.execute(
            "CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        return
    for verb in ("update", "delete"):
        op.execute(
            f"CREATE TRIGGER audit_record_no_{verb} BEFORE {verb.upper()} ON audit_record "
            f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: {verb} on "
            "audit_record refused'); END"
        )
