"""Tables of the audit trail: the hash-chained records and the checkpoints of the chain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base
from cityos.kernel.ids import new_id


class AuditRecord(Base):
    """One audited event, committing to the record before it through ``prev_hash``.

    Written pending (``seq``, ``prev_hash`` and ``hash`` empty) and sealed into the chain
    soon after (``service.seal``). Append-only: database triggers refuse DELETE, and UPDATE
    except the one that seals a pending row (see the migrations). ``seq`` is unique but not
    the primary key, so that ``verify`` can still read and name a duplicated ``seq`` written
    by someone who dropped the index.
    """

    __tablename__ = "audit_record"
    __table_args__ = (
        CheckConstraint("outcome IN ('success', 'failure', 'denied')", name="outcome"),
        Index("ix_audit_record_target_type", "target_type", "target_id"),
        Index("ix_audit_record_occurred_at_id", "occurred_at", "id"),
        Index(
            "ix_audit_record_pending",
            "occurred_at",
            "id",
            postgresql_where=text("hash IS NULL"),
            sqlite_where=text("hash IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    target_type: Mapped[str] = mapped_column(String(100))
    target_id: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(String(500))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """The chain's hash at ``seq``, kept so that removing the newest records is noticed."""

    __tablename__ = "audit_checkpoint"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
