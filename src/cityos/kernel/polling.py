"""Background threads that work in passes: every few seconds, and at once after a commit
that gave them work (the job worker, the outbox relay)."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from cityos.kernel.runtime import Runtime

log = logging.getLogger("cityos.workers")


class PollingThread(threading.Thread, ABC):
    """A daemon thread running ``work_pass`` every ``poll_interval`` seconds, woken early by
    any commit of the runtime's sessions whose ``session.info`` carries ``wake_flag``."""

    def __init__(
        self, runtime: Runtime, *, name: str, wake_flag: str, poll_interval: float = 1.0
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.runtime = runtime
        self.poll_interval = poll_interval
        self._wake_flag = wake_flag
        self._wake = threading.Event()
        self._stopping = threading.Event()

    @abstractmethod
    def work_pass(self, should_stop: Callable[[], bool]) -> None:
        """Do the work that is due; return early once ``should_stop()`` is true."""

    def setup(self) -> None:
        """Open what the passes need, in the thread, before the first pass."""

    def teardown(self) -> None:
        """Close what ``setup`` opened, in the thread, after the last pass."""

    def start(self) -> None:
        sa_event.listen(self.runtime.sessions, "after_commit", self._after_commit)
        super().start()

    def wake(self) -> None:
        """Work now rather than at the next poll."""
        self._wake.set()

    def request_stop(self) -> None:
        """Ask the thread to stop after the item in hand; returns at once."""
        self._stopping.set()
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait up to ``timeout`` seconds for the item in hand."""
        self.request_stop()
        if self.ident is not None:
            self.join(timeout)
        if self.is_alive():
            # A daemon thread: the process may still exit. A job's lease runs out and another
            # worker runs it again; an event not marked published is published again.
            log.warning("%s still busy after %.1f s; leaving it", self.name, timeout)

    def run(self) -> None:
        try:
            self.setup()
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    self.work_pass(self._stopping.is_set)
                except Exception:
                    log.exception("%s: pass failed; retrying", self.name)
                self._wake.wait(self.poll_interval)
        finally:
            sa_event.remove(self.runtime.sessions, "after_commit", self._after_commit)
            self.teardown()

    def _after_commit(self, session: Session) -> None:
        if session.info.get(self._wake_flag):
            self._wake.set()
