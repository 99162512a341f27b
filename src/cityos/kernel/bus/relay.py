"""The outbox relay: delivers committed events to in-process handlers and to NATS JetStream.

Hand-written rather than taken from a library: none claims outbox rows on both SQLite and
PostgreSQL (``FOR UPDATE SKIP LOCKED``) with our unit of work, and the outbox exists so that
nothing is ever published from inside the request's transaction.

How an event travels
--------------------
``emit`` writes a row in the caller's transaction. After the commit a relay (the thread that
``cityos.kernel.workers.start_workers`` starts, woken by that very commit, or ``drain`` from
tests and the CLI) claims due rows in id order, on PostgreSQL with ``FOR UPDATE SKIP LOCKED``
held for the batch, so any number of relays in any number of processes share the work and
each event goes out once. For each event it:

1. publishes to JetStream when ``CITYOS_NATS_URL`` is set: subject ``cityos.<type>``, header
   ``Nats-Msg-Id`` = event id, and records ``sent_at``;
2. runs every matching handler (``Module.event_handlers``; patterns are ``fnmatch`` globs such
   as ``case.*``, where ``*`` also crosses dots), each in a unit of work of its own that also
   writes the handler's ``outbox_delivery`` row;
3. marks the event published once both are done; otherwise records ``attempts``,
   ``last_error`` and ``next_attempt_at``, backing off from 2 s up to 5 min, retrying forever.

Guarantees
----------
- Nothing is lost: rows a crash leaves unpublished are drained by the next relay to run.
- In-process handlers get each event **at least once**. A handler's database writes commit
  together with its delivery row, so a retry skips handlers that already succeeded and their
  writes happen once; what a handler does outside the database (a message, an HTTP call) is
  repeated if the process dies before that commit, so such effects must be keyed by
  ``event.id``. Handlers are told apart by pattern and qualified name: use named functions.
- NATS is at least once as well: JetStream drops a re-publish inside the stream's duplicate
  window (one hour for the stream we create); later consumers dedupe by ``Nats-Msg-Id``.
- Order: one relay publishes in emission order, but a failing event waits for its retry while
  later ones go on, and several relays take different batches; consumers that care about the
  order of one thing's events use ``key`` and ``created_at``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityos.kernel.bus.jetstream import NatsPublisher, NatsUnavailable, Publisher
from cityos.kernel.bus.models import OutboxDelivery, OutboxEvent
from cityos.kernel.bus.outbox import EMITTED, Event
from cityos.kernel.clock import utcnow
from cityos.kernel.db import is_postgresql
from cityos.kernel.polling import PollingThread

if TYPE_CHECKING:
    from cityos.kernel.registry import EventHandler, Registry
    from cityos.kernel.runtime import Runtime
    from cityos.settings import Settings

log = logging.getLogger("cityos.bus")

PUBLISHED = Counter(
    "cityos_outbox_events_published_total",
    "Outbox events delivered to NATS (when configured) and every matching handler",
)
FAILURES = Counter(
    "cityos_outbox_delivery_failures_total",
    "Failed attempts to deliver an outbox event, by target",
    ["target"],
)
BACKLOG = Gauge("cityos_outbox_backlog", "Outbox events not yet published, database-wide")

MAX_BACKOFF = timedelta(minutes=5)


def retry_delay(attempts: int) -> timedelta:
    """How long an event waits after its ``attempts``-th failed delivery."""
    return min(timedelta(seconds=2 ** min(attempts, 16)), MAX_BACKOFF)


@dataclass(frozen=True)
class Subscription:
    """One handler of the registry and the events it wants."""

    pattern: str
    handler: EventHandler
    name: str

    def matches(self, event_type: str) -> bool:
        return fnmatchcase(event_type, self.pattern)


def subscriptions(registry: Registry) -> list[Subscription]:
    """Every module's event handlers, named as their delivery records name them."""
    found: list[Subscription] = []
    for pattern, handler in registry.event_handlers():
        module = getattr(handler, "__module__", None) or "?"
        qualname = getattr(handler, "__qualname__", None) or type(handler).__qualname__
        found.append(Subscription(pattern, handler, f"{pattern} {module}.{qualname}"[:255]))
    return found


def nats_publisher(settings: Settings) -> NatsPublisher | None:
    """A publisher to the configured stream, or None when NATS is not configured."""
    if not settings.nats_url:
        return None
    return NatsPublisher(
        settings.nats_url, stream=settings.nats_stream, subject_prefix=settings.nats_subject_prefix
    )


def backlog(session: Session) -> int:
    """How many events are not yet published."""
    query = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class _Claimed:
    event: Event
    attempts: int
    sent: bool


@dataclass(frozen=True)
class _Outcome:
    sent_now: bool
    errors: tuple[str, ...]


def _never() -> bool:
    return False


class Relay:
    """Drains one database's outbox: claims due events in batches and delivers each."""

    def __init__(
        self, runtime: Runtime, *, publisher: Publisher | None, batch_size: int = 50
    ) -> None:
        self.runtime = runtime
        self.publisher = publisher
        self.batch_size = batch_size
        self.subscriptions = subscriptions(runtime.registry)
        self._postgresql = is_postgresql(runtime.engine)
        self._nats_error: str | None = None

    def drain(self, *, limit: int, should_stop: Callable[[], bool] = _never) -> int:
        """Deliver up to ``limit`` due events; returns how many were fully published."""
        # Once NATS is found unavailable, the rest of this pass records that rather than
        # wait for it once per event.
        self._nats_error = None
        claimed = published = 0
        while claimed < limit and not should_stop():
            size = min(self.batch_size, limit - claimed)
            batch_claimed, batch_published = self._batch(size, should_stop)
            claimed += batch_claimed
            published += batch_published
            if batch_claimed < size:
                break
        return published

    def _batch(self, size: int, should_stop: Callable[[], bool]) -> tuple[int, int]:
        published = 0
        with self.runtime.sessions() as claim:
            # PostgreSQL: the rows stay locked until this session commits, after the batch.
            # SQLite ignores the locking clause, and its transactions hold the one write lock
            # (BEGIN IMMEDIATE), which the handlers need: the claim ends at once and each
            # outcome is recorded in a short transaction. Two relays on one SQLite file may
            # then both deliver an event, which delivery records and Nats-Msg-Id absorb.
            rows = claim.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None), OutboxEvent.next_attempt_at <= utcnow())
                .order_by(OutboxEvent.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            ).all()
            claimed = [_Claimed(Event.of(r), r.attempts, r.sent_at is not None) for r in rows]
            if not self._postgresql:
                claim.commit()
            for item in claimed:
                if should_stop():
                    break
                outcome = self._deliver(item.event, sent=item.sent)
                if self._postgresql:
                    self._record(claim, item, outcome)
                else:
                    with self.runtime.unit_of_work() as session:
                        self._record(session, item, outcome)
                if not outcome.errors:
                    published += 1
                    PUBLISHED.inc()
            claim.commit()
        return len(claimed), published

    def _deliver(self, event: Event, *, sent: bool) -> _Outcome:
        errors: list[str] = []
        sent_now = False
        if self.publisher is not None and not sent:
            if self._nats_error is not None:
                errors.append(self._nats_error)
            else:
                try:
                    self.publisher.publish(event)
                    sent_now = True
                except NatsUnavailable as exc:
                    log.warning("NATS unavailable for event %s: %s", event.id, exc)
                    self._nats_error = f"nats: {exc}"
                    errors.append(self._nats_error)
                except Exception as exc:
                    log.warning("publishing event %s to NATS failed: %r", event.id, exc)
                    errors.append(f"nats: {exc!r}")
            if not sent_now:
                FAILURES.labels("nats").inc()
        for subscription in self.subscriptions:
            if not subscription.matches(event.type):
                continue
            try:
                self._handle(subscription, event)
            except Exception as exc:
                FAILURES.labels("handler").inc()
                log.exception("handler %s failed on event %s", subscription.name, event.id)
                errors.append(f"{subscription.name}: {exc!r}")
        return _Outcome(sent_now=sent_now, errors=tuple(errors))

    def _handle(self, subscription: Subscription, event: Event) -> None:
        key = (event.id, subscription.name)
        try:
            with self.runtime.unit_of_work() as session:
                if session.get(OutboxDelivery, key) is not None:
                    return
                subscription.handler(session, event)
                session.add(
                    OutboxDelivery(
                        event_id=event.id, handler=subscription.name, delivered_at=utcnow()
                    )
                )
        except IntegrityError:
            # Another relay delivered the event meanwhile and its commit won; or the handler's
            # own write broke a constraint, which is a failure like any other.
            with self.runtime.sessions() as check:
                if check.get(OutboxDelivery, key) is not None:
                    return
            raise

    def _record(self, session: Session, item: _Claimed, outcome: _Outcome) -> None:
        now = utcnow()
        attempts = item.attempts + 1
        values: dict[str, Any] = {"attempts": attempts}
        if outcome.sent_now:
            values["sent_at"] = now
        if outcome.errors:
            values["last_error"] = "; ".join(outcome.errors)[:4000]
            values["next_attempt_at"] = now + retry_delay(attempts)
        else:
            values["published_at"] = now
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == item.event.id, OutboxEvent.published_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def drain(
    runtime: Runtime,
    *,
    limit: int = 1000,
    publisher: Publisher | None = None,
    batch_size: int = 50,
) -> int:
    """Deliver up to ``limit`` due events now, in this thread; returns how many were published.

    Without ``publisher``, one is opened for the call when ``settings.nats_url`` is set.
    """
    own = nats_publisher(runtime.settings) if publisher is None else None
    try:
        relay = Relay(runtime, publisher=publisher or own, batch_size=batch_size)
        return relay.drain(limit=limit)
    finally:
        if own is not None:
            own.close()


class OutboxRelay(PollingThread):
    """A thread draining the outbox every ``poll_interval`` seconds and right after each commit
    (of a session made by this runtime) that emitted an event."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        poll_interval: float = 1.0,
        batch_size: int = 50,
        publisher: Publisher | None = None,
    ) -> None:
        super().__init__(
            runtime, name="cityos-outbox-relay", wake_flag=EMITTED, poll_interval=poll_interval
        )
        self.batch_size = batch_size
        self._publisher = publisher
        self._own: NatsPublisher | None = None
        self._relay: Relay | None = None

    def setup(self) -> None:
        self._own = nats_publisher(self.runtime.settings) if self._publisher is None else None
        self._relay = Relay(
            self.runtime, publisher=self._publisher or self._own, batch_size=self.batch_size
        )

    def work_pass(self, should_stop: Callable[[], bool]) -> None:
        assert self._relay is not None
        self._relay.drain(limit=sys.maxsize, should_stop=should_stop)
        with self.runtime.sessions() as session:
            BACKLOG.set(backlog(session))

    def teardown(self) -> None:
        if self._own is not None:
            self._own.close()
