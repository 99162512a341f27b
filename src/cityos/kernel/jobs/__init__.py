"""Jobs and timers: rows with a due time, run after commit by any number of workers.

``schedule(session, name=..., payload=...)`` adds a job in the caller's transaction; modules
register handlers in ``Module.jobs`` (``name -> handler(session, payload)``), each run in a
transaction that also marks the job done. ``JobWorker`` is the worker thread (started by
``cityos.kernel.workers``); ``run_pending`` runs due jobs in the calling thread.
``cityos.kernel.jobs.worker`` explains claiming, leases, retries and recurring timers.
"""

from __future__ import annotations

from pathlib import Path

from cityos.kernel.jobs.models import Job, JobStatus
from cityos.kernel.jobs.service import purge_finished, purge_job, schedule
from cityos.kernel.jobs.worker import (
    DEFAULT_LEASE,
    JobRunner,
    JobWorker,
    LeaseLost,
    job_counts,
    new_worker_id,
    retry_delay,
    run_pending,
)
from cityos.kernel.registry import Module

module = Module(
    name="jobs",
    models=("cityos.kernel.jobs.models",),
    migrations=Path(__file__).parent / "migrations",
    jobs={"jobs.purge": purge_job},
)

__all__ = [
    "DEFAULT_LEASE",
    "Job",
    "JobRunner",
    "JobStatus",
    "JobWorker",
    "LeaseLost",
    "job_counts",
    "module",
    "new_worker_id",
    "purge_finished",
    "retry_delay",
    "run_pending",
    "schedule",
]
