"""The job table: timers and background work, claimed by any number of workers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.db import Base, IdMixin, TimestampMixin


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# A dedupe key is unique among the jobs still to run (or running): once a job is done or
# failed its key may be scheduled again.
LIVE_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)
LIVE_PREDICATE = "status IN ('pending', 'running')"


class Job(IdMixin, TimestampMixin, Base):
    """A unit of background work due at ``due_at``, run by whichever worker claims it first.

    A running job carries its worker (``locked_by``) and lease (``locked_until``); once the
    lease is over without the job being finished, the worker is taken for dead and another
    claims it. ``every_seconds`` makes it a recurring timer: after a run it becomes pending
    again one period later.
    """

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_status_due_at", "status", "due_at"),
        Index(
            "uq_job_dedupe_key",
            "dedupe_key",
            unique=True,
            postgresql_where=text(LIVE_PREDICATE),
            sqlite_where=text(LIVE_PREDICATE),
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[JobStatus] = mapped_column(
        Enum(
            JobStatus,
            native_enum=False,
            length=16,
            values_callable=lambda statuses: [s.value for s in statuses],
        ),
        default=JobStatus.PENDING,
    )
    due_at: Mapped[datetime]
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    every_seconds: Mapped[int | None]
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
