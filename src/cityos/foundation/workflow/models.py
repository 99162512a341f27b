"""Workflow definitions as loaded, running instances, and their immutable history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base, IdMixin, TimestampMixin


class WorkflowDefinition(Base):
    """One version of a workflow as the profile declared it; never changed once loaded."""

    __tablename__ = "workflow_definition"

    workflow_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowInstance(IdMixin, TimestampMixin, Base):
    """One thing going through a workflow (a case, an application …).

    ``due_at``/``warn_at`` are the current state's red and yellow points, stored as
    instants computed on the working calendar when the state was entered. Who it waits
    for is ``assignee_user_id``, else anyone holding ``assignee_role`` whose jurisdiction
    reaches ``region_code`` (and ``department_id`` where set). ``row_version`` makes two
    people acting at once conflict instead of both winning.
    """

    __tablename__ = "workflow_instance"
    __table_args__ = (
        Index("ix_workflow_instance_subject", "subject_type", "subject_id"),
        Index("ix_workflow_instance_open_role", "closed_at", "assignee_role"),
        Index("ix_workflow_instance_open_user", "closed_at", "assignee_user_id"),
        Index("ix_workflow_instance_open_due", "closed_at", "due_at"),
    )

    workflow_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column()
    # The content hash of that version, so a step finds its parsed definition without a
    # query (see ``service.definition_for``).
    definition_hash: Mapped[str | None] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(64))
    state_seq: Mapped[int] = mapped_column(default=0)
    state_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    warn_at: Mapped[datetime | None] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    overall_due_at: Mapped[datetime | None] = mapped_column()
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    # Identity's ids, kept without foreign keys: the engine's tables stand on their own
    # branch of migrations, and a user or unit is never deleted, only made inactive.
    department_id: Mapped[uuid.UUID | None] = mapped_column()
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column()
    assignee_role: Mapped[str | None] = mapped_column(String(64))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    closed_at: Mapped[datetime | None] = mapped_column()
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 - SQLAlchemy reads it


class WorkflowEvent(IdMixin, Base):
    """One step of an instance's history: who did what, when, from which state to which.

    ``(instance_id, seq)`` is unique, so two transitions from the same point cannot both
    be written: the history never forks.
    """

    __tablename__ = "workflow_event"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflow_instance.id"), index=True)
    seq: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
