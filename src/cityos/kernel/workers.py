"""Background work of one process: a job worker thread and an outbox relay thread.

``cityos serve`` and ``cityos worker`` call ``start_workers`` once; any number of processes
may do so against one PostgreSQL database (jobs and events are claimed with ``SKIP LOCKED``).
Both threads poll every second and are woken at once by a commit, made through the runtime's
sessions, that scheduled a job or emitted an event. Starting also makes sure the daily
housekeeping timers exist (``bus.purge`` and ``jobs.purge``, keeping a week), and the
recurring timers modules declare (``Module.timers``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from cityos.kernel.bus import OutboxRelay
from cityos.kernel.jobs import JobWorker, schedule
from cityos.kernel.runtime import Runtime

log = logging.getLogger("cityos.workers")

HOUSEKEEPING = ("bus.purge", "jobs.purge")
DAY = 24 * 3600
STOP_TIMEOUT = 3.0


def ensure_housekeeping(runtime: Runtime) -> None:
    """Schedule the daily purge timers and the modules' timers unless already scheduled."""
    handlers = runtime.registry.jobs()
    timers = dict.fromkeys(HOUSEKEEPING, DAY) | runtime.registry.timers()
    with runtime.unit_of_work() as session:
        for name, every in timers.items():
            if name in handlers:
                schedule(session, name=name, payload={}, dedupe_key=name, every=every)


def start_workers(runtime: Runtime) -> Callable[[], None]:
    """Start the process's job worker and outbox relay; returns a function that stops them.

    Stopping lets each thread finish the job or event in hand and waits for both together,
    at most ``STOP_TIMEOUT`` seconds; a job still running then is left to its lease.
    """
    ensure_housekeeping(runtime)
    threads: list[JobWorker | OutboxRelay] = [JobWorker(runtime), OutboxRelay(runtime)]
    for thread in threads:
        thread.start()
    log.info("started %s", ", ".join(t.name for t in threads))

    def stop() -> None:
        for thread in threads:
            thread.request_stop()
        deadline = time.monotonic() + STOP_TIMEOUT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s did not stop within %.1f s", thread.name, STOP_TIMEOUT)

    return stop
