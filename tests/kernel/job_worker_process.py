"""A job worker process for the multi-process test in ``test_jobs``: runs until SIGTERM.

    python -m tests.kernel.job_worker_process WORKER_ID LEASE_SECONDS

Reads the database from ``CITYOS_DATABASE_URL``. ``test.record`` inserts a row per run into
``job_test_run``; ``test.victim`` does the same, except on its first run, where it announces
its process id in ``job_test_victim`` and then sleeps until the test kills the process.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cityos.kernel.jobs import JobWorker
from cityos.kernel.registry import Module, Registry, get_registry
from cityos.kernel.runtime import build_runtime
from cityos.settings import Settings


def record(session: Session, payload: dict[str, Any]) -> None:
    session.execute(
        text("INSERT INTO job_test_run (job_n, pid) VALUES (:n, :pid)"),
        {"n": payload["n"], "pid": os.getpid()},
    )


def victim(session: Session, payload: dict[str, Any]) -> None:
    engine = session.get_bind()
    with engine.connect() as connection:
        first = connection.execute(
            text(
                "INSERT INTO job_test_victim (id, pid) VALUES (1, :pid) "
                "ON CONFLICT DO NOTHING RETURNING pid"
            ),
            {"pid": os.getpid()},
        ).first()
        connection.commit()
    if first is not None:
        time.sleep(3600)  # until SIGKILL
    record(session, payload)


def main() -> None:
    worker_id, lease = sys.argv[1], float(sys.argv[2])
    module = Module(name="job_worker_process", jobs={"test.record": record, "test.victim": victim})
    registry = Registry((*get_registry().modules, module))
    runtime = build_runtime(Settings(_env_file=None), registry=registry)  # type: ignore[call-arg]
    worker = JobWorker(runtime, worker_id=worker_id, poll_interval=0.2, lease=lease)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    worker.start()
    done.wait()
    worker.stop()
    runtime.close()


if __name__ == "__main__":
    main()
