"""Scheduling jobs: ``schedule`` adds a row in the caller's transaction."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityos.kernel.clock import as_utc, utcnow
from cityos.kernel.db import is_postgresql
from cityos.kernel.ids import new_id
from cityos.kernel.jobs.models import LIVE_STATUSES, Job, JobStatus

# Set on a session that scheduled a job, so this process's worker can be woken after commit.
SCHEDULED = "cityos.jobs.scheduled"


def schedule(
    session: Session,
    *,
    name: str,
    payload: dict[str, Any],
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 5,
    every: int | None = None,
) -> Job:
    """Add a job to run at ``due_at`` (now when omitted) once the caller's transaction commits.

    The handler is the one registered as ``name`` in some ``Module.jobs``. With ``dedupe_key``,
    while a job with that key is pending or running, that job is returned and nothing is
    added. ``every`` (seconds) makes a recurring timer: each run, successful or out of
    attempts, is followed by the next one a period later. Never commits.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if every is not None and every < 1:
        raise ValueError("every must be at least one second")
    if due_at is not None and due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload of job {name!r} is not JSON: {exc}") from exc
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id(),
        "name": name,
        "payload": payload,
        "status": JobStatus.PENDING,
        "due_at": as_utc(due_at) if due_at is not None else now,
        "dedupe_key": dedupe_key,
        "attempts": 0,
        "max_attempts": max_attempts,
        "every_seconds": every,
        "created_at": now,
        "updated_at": now,
    }
    session.info[SCHEDULED] = True
    if dedupe_key is None:
        job = Job(**values)
        session.add(job)
        return job
    # One INSERT … ON CONFLICT DO NOTHING, no savepoint to catch a duplicate: on PostgreSQL
    # it waits for a concurrent insert of the same key and then yields to it.
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    # RETURNING gives the new row in the same round trip; only a duplicate costs a read.
    add = insert(Job).values(**values).on_conflict_do_nothing().returning(Job)
    live = select(Job).where(Job.dedupe_key == dedupe_key, Job.status.in_(LIVE_STATUSES))
    for _ in range(3):
        existing = session.scalars(add).first() or session.scalars(live).first()
        if existing is not None:
            return existing
    raise RuntimeError(f"job with dedupe key {dedupe_key!r} keeps finishing while scheduled")


def purge_finished(session: Session, *, before: datetime) -> int:
    """Delete jobs done before ``before``; returns how many. Failed jobs stay for a person."""
    result = session.execute(
        delete(Job).where(Job.status == JobStatus.DONE, Job.finished_at < before)
    )
    return int(getattr(result, "rowcount", 0))


def purge_job(session: Session, payload: dict[str, Any]) -> None:
    """The ``jobs.purge`` job: keep ``keep_days`` (default 7) days of finished jobs."""
    keep = timedelta(days=float(payload.get("keep_days", 7)))
    purge_finished(session, before=utcnow() - keep)
