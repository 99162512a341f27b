"""Live events for screens: the outbox tailed once per process and fanned out to listeners.

A big screen or a workbench page wants to see an alarm, a case or a device change the
moment it is committed, in whichever process committed it. Each process runs one
``LiveFeed`` thread that reads the newest outbox rows (every second, and at once after a
commit of its own that emitted) and hands each event to every listener whose patterns
match. Listeners are asyncio queues of the server's event loop; a slow one loses its
oldest events and is told so (``lagged``), it never holds the others up.

The outbox is read, not consumed: the relay still delivers every event to its handlers.
A transaction that commits late can carry events older than ones already shown, so each
read looks back ``LOOKBACK`` and skips the ids it has already passed on. Rows are read
only while someone listens. What a reconnecting client missed (``Last-Event-ID``) is read
by ``missed`` from the outbox, which keeps a week.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from sqlalchemy import select

from cityos.kernel.bus.models import OutboxEvent
from cityos.kernel.bus.outbox import EMITTED, Event
from cityos.kernel.clock import utcnow
from cityos.kernel.polling import PollingThread
from cityos.kernel.runtime import Runtime

log = logging.getLogger("cityos.live")

LOOKBACK = timedelta(seconds=10)
READ_LIMIT = 2000
QUEUE_SIZE = 1000


@dataclass(eq=False)
class Listener:
    """One open stream: the event types it wants (``fnmatch`` patterns) and its queue."""

    patterns: tuple[str, ...]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    lagged: bool = False

    def wants(self, event_type: str) -> bool:
        return any(fnmatchcase(event_type, p) for p in self.patterns)

    def offer(self, event: Event) -> None:
        """Called in the loop's thread: queue the event, dropping the oldest when full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.lagged = True
        self.queue.put_nowait(event)


class LiveFeed(PollingThread):
    """The process's outbox tail; see the module docstring."""

    def __init__(self, runtime: Runtime, *, poll_interval: float = 1.0) -> None:
        super().__init__(
            runtime, name="cityos-live", wake_flag=EMITTED, poll_interval=poll_interval
        )
        self._listeners: set[Listener] = set()
        self._lock = threading.Lock()
        self._since = utcnow()
        self._passed: dict[uuid.UUID, datetime] = {}

    def listen(self, patterns: Iterable[str], loop: asyncio.AbstractEventLoop) -> Listener:
        """A new listener for the event types matching ``patterns`` (all when empty)."""
        listener = Listener(tuple(patterns) or ("*",), loop)
        with self._lock:
            if not self._listeners:
                self._since = utcnow() - LOOKBACK
            self._listeners.add(listener)
        self.wake()
        return listener

    def forget(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    def work_pass(self, should_stop: Callable[[], bool]) -> None:
        with self._lock:
            listeners = list(self._listeners)
            since = self._since
        if not listeners:
            return
        with self.runtime.unit_of_work() as session:
            rows = session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.created_at >= since - LOOKBACK)
                .order_by(OutboxEvent.created_at, OutboxEvent.id)
                .limit(READ_LIMIT)
            ).all()
            events = [Event.of(row) for row in rows if row.id not in self._passed]
        newest = since
        for event in events:
            self._passed[event.id] = event.created_at
            newest = max(newest, event.created_at)
            for listener in listeners:
                if listener.wants(event.type):
                    listener.loop.call_soon_threadsafe(listener.offer, event)
        horizon = newest - 2 * LOOKBACK
        self._passed = {k: v for k, v in self._passed.items() if v >= horizon}
        with self._lock:
            self._since = max(self._since, newest)


def missed(runtime: Runtime, last_event_id: str, patterns: Iterable[str]) -> list[Event]:
    """The events after ``last_event_id`` matching ``patterns`` (at most ``READ_LIMIT``);
    none when that event is unknown or already purged."""
    try:
        last = uuid.UUID(last_event_id)
    except ValueError:
        return []
    wanted = tuple(patterns) or ("*",)
    with runtime.unit_of_work() as session:
        seen = session.get(OutboxEvent, last)
        if seen is None:
            return []
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.created_at >= seen.created_at, OutboxEvent.id != last)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .limit(READ_LIMIT)
        ).all()
        return [Event.of(row) for row in rows if any(fnmatchcase(row.type, p) for p in wanted)]


def sse_message(event: Event) -> str:
    """One server-sent event: its id (for ``Last-Event-ID``), type and JSON body."""
    body = {
        "id": str(event.id),
        "type": event.type,
        "key": event.key,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n"
