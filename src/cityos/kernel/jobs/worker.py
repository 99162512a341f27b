"""Running jobs: claim one due job at a time, run it, record the outcome.

Hand-written rather than taken from a job library: none claims rows with ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL and a guarded update on SQLite inside our unit of work, and the point of
running jobs here is that a handler's writes and the job's "done" commit together.

Claiming
--------
A job is claimable when it is pending and due, or running with its lease over (its worker
died). The claim locks candidates with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite ignores
it and has a single writer), then sets ``status='running'``, ``locked_by``, ``locked_until =
now + lease`` and ``attempts + 1`` in an UPDATE that repeats the claimable condition, and
commits. One job is claimed at a time, so a lease starts when its job starts.

Running
-------
The handler runs in a new unit of work. In that same transaction the job is marked done with
an UPDATE guarded by ``locked_by = this worker``: if another worker has meanwhile reclaimed it
(our lease ran out), the guard matches nothing and the handler's writes are rolled back, so
a job's database effects commit exactly once. A handler that raises has its writes rolled back;
the job goes back to pending after a backoff (5 s doubling, at most 1 h) until
``max_attempts`` runs have been made, then it is marked failed with the error. A job whose
worker died counts that run as an attempt, so a job that kills its worker ends up failed.

The lease (60 s by default) must exceed the longest run; longer work should be split into
several jobs or given a worker with a longer lease. Due times and leases are compared with
each worker's own clock, so hosts must keep their clocks in step (NTP) well within a lease.

Recurring timers
----------------
``schedule(..., every=N)``: after each run (done, or out of attempts) the same row becomes
pending again at its due time plus N seconds (or now plus N if that is past), attempts reset.
A handler may also schedule its own next run with ``schedule`` for irregular timers.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from cityos.kernel.clock import utcnow
from cityos.kernel.jobs.models import LIVE_STATUSES, Job, JobStatus
from cityos.kernel.jobs.service import SCHEDULED
from cityos.kernel.polling import PollingThread

if TYPE_CHECKING:
    from cityos.kernel.registry import JobHandler
    from cityos.kernel.runtime import Runtime

log = logging.getLogger("cityos.jobs")

RUNS = Counter("cityos_job_runs_total", "Job runs by job name and outcome", ["name", "outcome"])
DURATION = Histogram("cityos_job_run_seconds", "Time spent running a job's handler", ["name"])
JOBS = Gauge("cityos_jobs", "Jobs by status, database-wide (done ones are not counted)", ["status"])

DEFAULT_LEASE = 60.0
MAX_BACKOFF = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """How long a job waits after its ``attempts``-th failed run."""
    return min(timedelta(seconds=5 * 2 ** min(attempts - 1, 16)), MAX_BACKOFF)


def new_worker_id() -> str:
    """A name for a worker, unique across hosts and processes, readable in ``locked_by``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LeaseLost(RuntimeError):
    """Another worker reclaimed the job while this one ran it."""


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    name: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    every_seconds: int | None
    due_at: datetime


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Job.status == JobStatus.PENDING, Job.due_at <= now),
        and_(Job.status == JobStatus.RUNNING, Job.locked_until < now),
    )


def _never() -> bool:
    return False


class JobRunner:
    """Claims and runs jobs for one worker id (not a thread; ``JobWorker`` is)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        worker_id: str,
        lease: float = DEFAULT_LEASE,
        handlers: dict[str, JobHandler] | None = None,
    ) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self.lease = timedelta(seconds=lease)
        self.handlers = runtime.registry.jobs() if handlers is None else handlers

    def run_pending(self, *, limit: int, should_stop: Callable[[], bool] = _never) -> int:
        """Run due jobs one by one, up to ``limit``; returns how many were run."""
        count = 0
        while count < limit and not should_stop():
            claimed = self.claim()
            if claimed is None:
                break
            self.run(claimed)
            count += 1
        return count

    def claim(self) -> _Claimed | None:
        """Take the next claimable job, or None when there is none."""
        for _ in range(5):
            now = utcnow()
            with self.runtime.unit_of_work() as session:
                job_id = session.scalars(
                    select(Job.id)
                    .where(_claimable(now))
                    .order_by(Job.due_at, Job.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if job_id is None:
                    return None
                row = session.execute(
                    update(Job)
                    .where(Job.id == job_id, _claimable(now))
                    .values(
                        status=JobStatus.RUNNING,
                        locked_by=self.worker_id,
                        locked_until=now + self.lease,
                        attempts=Job.attempts + 1,
                        updated_at=now,
                    )
                    .returning(
                        Job.id,
                        Job.name,
                        Job.payload,
                        Job.attempts,
                        Job.max_attempts,
                        Job.every_seconds,
                        Job.due_at,
                    )
                    .execution_options(synchronize_session=False)
                ).first()
            if row is not None:
                return _Claimed(*row)
            # SQLite: another worker took it between our read and our update; look again.
        return None

    def run(self, job: _Claimed) -> str:
        """Run one claimed job and record how it went; returns the outcome."""
        if job.attempts > job.max_attempts:
            error = f"its worker stopped during each of {job.max_attempts} runs (lease expired)"
            return self._failed(job, error)
        started = time.perf_counter()
        try:
            handler = self.handlers.get(job.name)
            if handler is None:
                raise LookupError(f"no handler is registered for job {job.name!r}")
            with self.runtime.unit_of_work() as session:
                handler(session, dict(job.payload))
                self._finish(session, job)
        except LeaseLost:
            log.warning(
                "job %s (%s) was reclaimed by another worker; rolled back", job.id, job.name
            )
            RUNS.labels(job.name, "lease_lost").inc()
            return "lease_lost"
        except Exception as exc:
            log.exception("job %s (%s) failed on attempt %d", job.id, job.name, job.attempts)
            return self._failed(job, f"{type(exc).__name__}: {exc}")
        finally:
            DURATION.labels(job.name).observe(time.perf_counter() - started)
        RUNS.labels(job.name, "done").inc()
        return "done"

    def _finish(self, session: Session, job: _Claimed) -> None:
        now = utcnow()
        values: dict[str, Any] = {"locked_by": None, "locked_until": None, "updated_at": now}
        if job.every_seconds is None:
            values |= {"status": JobStatus.DONE, "finished_at": now}
        else:
            values |= {"status": JobStatus.PENDING, "attempts": 0, "finished_at": now}
            values["due_at"] = _next_period(job, now)
        if not self._guarded_update(session, job, values):
            raise LeaseLost(str(job.id))

    def _failed(self, job: _Claimed, error: str) -> str:
        now = utcnow()
        values: dict[str, Any] = {
            "locked_by": None,
            "locked_until": None,
            "last_error": error[:4000],
            "updated_at": now,
        }
        if job.attempts < job.max_attempts:
            outcome = "retry"
            values |= {"status": JobStatus.PENDING, "due_at": now + retry_delay(job.attempts)}
        elif job.every_seconds is not None:
            outcome = "failed"
            values |= {"status": JobStatus.PENDING, "attempts": 0, "finished_at": now}
            values["due_at"] = _next_period(job, now)
        else:
            outcome = "failed"
            values |= {"status": JobStatus.FAILED, "finished_at": now}
        with self.runtime.unit_of_work() as session:
            if not self._guarded_update(session, job, values):
                outcome = "lease_lost"
        RUNS.labels(job.name, outcome).inc()
        return outcome

    def _guarded_update(self, session: Session, job: _Claimed, values: dict[str, Any]) -> bool:
        result = session.execute(
            update(Job)
            .where(
                Job.id == job.id,
                Job.status == JobStatus.RUNNING,
                Job.locked_by == self.worker_id,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0)) == 1


def _next_period(job: _Claimed, now: datetime) -> datetime:
    assert job.every_seconds is not None
    period = timedelta(seconds=job.every_seconds)
    following = job.due_at + period
    return following if following > now else now + period


def run_pending(
    runtime: Runtime, *, worker_id: str, limit: int = 100, lease: float = DEFAULT_LEASE
) -> int:
    """Run up to ``limit`` due jobs in this thread as worker ``worker_id``; returns how many."""
    return JobRunner(runtime, worker_id=worker_id, lease=lease).run_pending(limit=limit)


def job_counts(session: Session) -> dict[JobStatus, int]:
    """How many jobs are pending, running and failed."""
    watched = (*LIVE_STATUSES, JobStatus.FAILED)
    rows = session.execute(
        select(Job.status, func.count()).where(Job.status.in_(watched)).group_by(Job.status)
    ).all()
    counts = dict.fromkeys(watched, 0)
    counts.update({status: int(count) for status, count in rows})
    return counts


class JobWorker(PollingThread):
    """A thread running due jobs, polling every ``poll_interval`` seconds and woken right after
    each commit (of a session made by this runtime) that scheduled a job."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        worker_id: str | None = None,
        poll_interval: float = 1.0,
        lease: float = DEFAULT_LEASE,
    ) -> None:
        super().__init__(
            runtime, name="cityos-job-worker", wake_flag=SCHEDULED, poll_interval=poll_interval
        )
        self.worker_id = worker_id or new_worker_id()
        self.runner = JobRunner(runtime, worker_id=self.worker_id, lease=lease)

    def work_pass(self, should_stop: Callable[[], bool]) -> None:
        self.runner.run_pending(limit=sys.maxsize, should_stop=should_stop)
        with self.runtime.sessions() as session:
            for status, count in job_counts(session).items():
                JOBS.labels(status.value).set(count)
