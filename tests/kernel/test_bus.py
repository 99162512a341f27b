"""The outbox and bus: events leave only after commit, reach in-process handlers and a real
NATS JetStream stream, survive crashes, and go out once with several relays."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

import nats
import pytest
from nats.js import JetStreamContext
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from cityos.kernel.bus import (
    Event,
    NatsPublisher,
    OutboxDelivery,
    OutboxEvent,
    OutboxRelay,
    backlog,
    drain,
    emit,
    purge_published,
    subject_of,
)
from cityos.kernel.clock import utcnow
from cityos.kernel.registry import Module, Registry
from cityos.kernel.runtime import Runtime, build_runtime
from cityos.settings import Settings

if TYPE_CHECKING:
    from nats.aio.msg import Msg

    from tests.conftest import TestDatabase

NATS_URL = os.environ.get("CITYOS_TEST_NATS_URL", "nats://127.0.0.1:4222")
RUN = uuid.uuid4().hex[:8]
# Every event type of this run starts with this token, so the run's stream captures only its
# own subjects (<prefix>.t<run>.>) and runs sharing the server do not see each other.
KIND = f"t{RUN}"
# And this run's subjects live under their own prefix, so a `cityos.>` stream that an
# installation left on the shared server does not overlap them.
PREFIX = f"cityostest{RUN}"
CASE_CREATED = f"{KIND}.case.created"
CASE_CLOSED = f"{KIND}.case.closed"
ALARM_RAISED = f"{KIND}.alarm.raised"

T = TypeVar("T")


def on_jetstream(work: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    """Run ``work`` against the test server, in a thread of its own: another plugin (the
    browser tests' Playwright) may have an event loop running in this one."""

    async def run() -> T:
        client = await nats.connect(NATS_URL)
        try:
            return await work(client.jetstream())
        finally:
            await client.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=30)


def stream_size(stream: str) -> int:
    async def size(js: JetStreamContext) -> int:
        return int((await js.stream_info(stream)).state.messages)

    return on_jetstream(size)


def consume(stream: str) -> list[Msg]:
    """Everything in the stream, read through a new JetStream pull consumer.

    Reads exactly as many messages as the stream holds, with a generous timeout per
    fetch, so a loaded machine slows the test down instead of making it miss messages.
    """

    async def fetch_all(js: JetStreamContext) -> list[Msg]:
        expected = int((await js.stream_info(stream)).state.messages)
        subscription = await js.pull_subscribe(f"{PREFIX}.{KIND}.>", stream=stream)
        messages: list[Msg] = []
        try:
            while len(messages) < expected:
                batch = await subscription.fetch(min(100, expected - len(messages)), timeout=10)
                for message in batch:
                    await message.ack()
                messages.extend(batch)
            return messages
        finally:
            await subscription.unsubscribe()

    return on_jetstream(fetch_all)


@pytest.fixture(scope="module")
def stream() -> Iterator[str]:
    """A JetStream stream of this test run, deleted afterwards."""
    name = f"CITYOS_TEST_{RUN}"

    async def create(js: JetStreamContext) -> None:
        await js.add_stream(name=name, subjects=[f"{PREFIX}.{KIND}.>"], duplicate_window=120)

    async def remove(js: JetStreamContext) -> None:
        await js.delete_stream(name)

    on_jetstream(create)
    yield name
    on_jetstream(remove)


@pytest.fixture
def empty_stream(stream: str) -> str:
    async def purge(js: JetStreamContext) -> None:
        await js.purge_stream(stream)

    on_jetstream(purge)
    return stream


def _clear(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(delete(OutboxDelivery))
        connection.execute(delete(OutboxEvent))


@pytest.fixture
def clean(engine: Engine) -> Iterator[Engine]:
    """These tests commit for real: start and end with an empty outbox."""
    _clear(engine)
    yield engine
    _clear(engine)


class Handlers:
    """In-process handlers that record each event they are given, from any thread."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()
        self.fail_next = 0

    def on_case(self, session: Session, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def flaky(self, session: Session, event: Event) -> None:
        emit(session, type=f"{KIND}.case.noted", payload={"of": str(event.id)})
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("notification gateway down")

    def types(self) -> list[str]:
        return [e.type for e in self.events]


@pytest.fixture
def handlers() -> Handlers:
    return Handlers()


RuntimeFactory = Callable[..., Runtime]


@pytest.fixture
def runtimes(
    settings: Settings, registry: Registry, handlers: Handlers, clean: Engine
) -> Iterator[RuntimeFactory]:
    """Runtimes on the test database with ``handlers`` subscribed to ``<run>.case.*``."""
    opened: list[Runtime] = []
    module = Module(name="bus_test", event_handlers=((f"{KIND}.case.*", handlers.on_case),))

    def make(*extra: Module, nats_stream: str | None = None, nats_url: str = NATS_URL) -> Runtime:
        configured = settings
        if nats_stream is not None:
            configured = settings.model_copy(
                update={
                    "nats_url": nats_url,
                    "nats_stream": nats_stream,
                    "nats_subject_prefix": PREFIX,
                }
            )
        runtime = build_runtime(configured, registry=Registry((*registry.modules, module, *extra)))
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        runtime.close()


def emit_cases(runtime: Runtime, count: int, *, type: str = CASE_CREATED) -> list[uuid.UUID]:
    with runtime.unit_of_work() as session:
        events = [
            emit(session, type=type, payload={"case": f"C-{n}", "n": n}, key=f"C-{n}")
            for n in range(count)
        ]
    return [e.id for e in events]


def outbox(runtime: Runtime) -> list[OutboxEvent]:
    with runtime.sessions() as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


# --- writing ---------------------------------------------------------------------------------


def test_emit_writes_in_the_callers_transaction_and_never_commits(session: Session) -> None:
    event = emit(session, type="case.created", payload={"case": "C-1"}, key="C-1")
    session.flush()
    assert event.id is not None
    assert event.published_at is None
    assert session.get(OutboxEvent, event.id) is event

    event_id = event.id
    session.rollback()  # had emit committed, the row would outlive this
    assert session.get(OutboxEvent, event_id) is None


@pytest.mark.parametrize("bad", ["case created", "case.*", "cityos.>", "", "case..closed"])
def test_emit_refuses_types_that_are_not_plain_subjects(session: Session, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid event type"):
        emit(session, type=bad, payload={})


def test_emit_refuses_a_payload_that_is_not_json(session: Session) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        emit(session, type="case.created", payload={"id": uuid.uuid4()})


# --- publishing ------------------------------------------------------------------------------


def test_events_of_a_rolled_back_transaction_are_never_published(
    runtimes: RuntimeFactory, handlers: Handlers, empty_stream: str
) -> None:
    runtime = runtimes(nats_stream=empty_stream)

    def failing_request() -> None:
        with runtime.unit_of_work() as session:
            emit(session, type=CASE_CREATED, payload={"case": "C-1"})
            raise RuntimeError("validation failed")

    with pytest.raises(RuntimeError, match="validation failed"):
        failing_request()

    assert drain(runtime) == 0
    assert handlers.events == []
    assert outbox(runtime) == []
    assert stream_size(empty_stream) == 0


def test_committed_events_reach_handlers_and_a_jetstream_consumer(
    runtimes: RuntimeFactory, handlers: Handlers, empty_stream: str
) -> None:
    runtime = runtimes(nats_stream=empty_stream)
    with runtime.unit_of_work() as session:
        created = emit(session, type=CASE_CREATED, payload={"case": "C-1"}, key="C-1")
        alarm = emit(session, type=ALARM_RAISED, payload={"device": "D-7"})
        closed = emit(session, type=CASE_CLOSED, payload={"case": "C-1"}, key="C-1")

    assert drain(runtime) == 3
    assert handlers.types() == [CASE_CREATED, CASE_CLOSED]  # the glob, in order
    assert handlers.events[0] == Event(
        id=created.id,
        type=CASE_CREATED,
        key="C-1",
        payload={"case": "C-1"},
        created_at=created.created_at,
    )
    messages = consume(empty_stream)
    assert [m.subject for m in messages] == [
        subject_of(CASE_CREATED, PREFIX),
        subject_of(ALARM_RAISED, PREFIX),
        subject_of(CASE_CLOSED, PREFIX),
    ]
    assert [m.headers["Nats-Msg-Id"] for m in messages if m.headers] == [
        str(created.id),
        str(alarm.id),
        str(closed.id),
    ]
    body = json.loads(messages[0].data)
    assert body == {
        "id": str(created.id),
        "type": CASE_CREATED,
        "key": "C-1",
        "payload": {"case": "C-1"},
        "created_at": created.created_at.isoformat(),
    }
    rows = outbox(runtime)
    assert all(r.published_at is not None and r.sent_at is not None for r in rows)
    assert [r.attempts for r in rows] == [1, 1, 1]
    assert drain(runtime) == 0  # nothing goes out twice
    assert stream_size(empty_stream) == 3


def test_events_left_by_a_crash_before_publishing_go_out_on_restart(
    runtimes: RuntimeFactory, handlers: Handlers, empty_stream: str
) -> None:
    crashed = runtimes(nats_stream=empty_stream)
    ids = emit_cases(crashed, 3)
    crashed.close()  # committed, and the process died before its relay ran

    restarted = runtimes(nats_stream=empty_stream)
    with restarted.sessions() as session:
        assert backlog(session) == 3
    assert drain(restarted) == 3
    assert [e.id for e in handlers.events] == ids
    assert [m.headers["Nats-Msg-Id"] for m in consume(empty_stream) if m.headers] == [
        str(i) for i in ids
    ]


def test_a_republish_after_a_crash_is_deduplicated_by_jetstream(
    runtimes: RuntimeFactory, handlers: Handlers, empty_stream: str
) -> None:
    runtime = runtimes(nats_stream=empty_stream)
    ids = emit_cases(runtime, 2)
    # A relay published both, then died before recording it.
    publisher = NatsPublisher(NATS_URL, stream=empty_stream, subject_prefix=PREFIX)
    try:
        for row in outbox(runtime):
            publisher.publish(Event.of(row))
        publisher.publish(Event.of(outbox(runtime)[0]))
    finally:
        publisher.close()
    assert stream_size(empty_stream) == 2

    assert drain(runtime) == 2
    assert stream_size(empty_stream) == 2
    assert [e.id for e in handlers.events] == ids


def test_a_nats_outage_is_retried_with_backoff_without_repeating_handlers(
    runtimes: RuntimeFactory, handlers: Handlers, empty_stream: str
) -> None:
    down = runtimes(nats_stream=empty_stream, nats_url="nats://127.0.0.1:1")
    ids = emit_cases(down, 3)
    before = utcnow()

    assert drain(down) == 0
    for row in outbox(down):
        assert row.published_at is None
        assert row.sent_at is None
        assert row.attempts == 1
        assert (row.last_error or "").startswith("nats: cannot connect to NATS")
        assert row.next_attempt_at >= before + timedelta(seconds=2)
    assert [e.id for e in handlers.events] == ids  # handlers did not wait for NATS
    assert drain(down) == 0  # backing off: not even tried

    up = runtimes(nats_stream=empty_stream)
    with up.engine.begin() as connection:
        connection.execute(update(OutboxEvent).values(next_attempt_at=utcnow()))
    assert drain(up) == 3
    assert all(r.published_at is not None and r.attempts == 2 for r in outbox(up))
    assert [e.id for e in handlers.events] == ids  # delivered once, not again
    assert stream_size(empty_stream) == 3


def test_a_failing_handler_is_retried_alone_and_its_writes_rolled_back(
    runtimes: RuntimeFactory, handlers: Handlers
) -> None:
    runtime = runtimes(
        Module(name="bus_test_flaky", event_handlers=((CASE_CREATED, handlers.flaky),))
    )
    handlers.fail_next = 1
    [event_id] = emit_cases(runtime, 1)

    assert drain(runtime) == 0
    [row] = outbox(runtime)  # the flaky handler's own event was rolled back with it
    assert row.attempts == 1
    assert "Handlers.flaky" in (row.last_error or "")
    assert "notification gateway down" in (row.last_error or "")
    assert row.next_attempt_at > utcnow()
    with runtime.engine.begin() as connection:
        connection.execute(update(OutboxEvent).values(next_attempt_at=utcnow()))

    assert drain(runtime) == 1
    assert [e.id for e in handlers.events] == [event_id]  # the good handler ran once
    rows = outbox(runtime)
    assert [r.type for r in rows] == [CASE_CREATED, f"{KIND}.case.noted"]
    with runtime.sessions() as session:
        delivered = session.scalars(select(OutboxDelivery.handler)).all()
    assert len(delivered) == 2
    assert drain(runtime) == 1  # the handler's event, committed with its delivery record


# Concurrent relays claim with FOR UPDATE SKIP LOCKED, which only PostgreSQL has.
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_several_relays_on_postgresql_publish_each_event_once(
    database: TestDatabase,
    runtimes: RuntimeFactory,
    handlers: Handlers,
    empty_stream: str,
) -> None:
    count, relays = 300, 4
    ids = emit_cases(runtimes(), count)
    published: list[tuple[int, uuid.UUID]] = []
    lock = threading.Lock()

    class Counting:
        def __init__(self, relay: int) -> None:
            self.relay = relay
            self.inner = NatsPublisher(NATS_URL, stream=empty_stream, subject_prefix=PREFIX)

        def publish(self, event: Event) -> None:
            self.inner.publish(event)
            with lock:
                published.append((self.relay, event.id))

        def close(self) -> None:
            self.inner.close()

    # Separate runtimes, separate engines: as separate processes would be.
    workers = [runtimes(nats_stream=empty_stream) for _ in range(relays)]
    totals = [0] * relays
    start = threading.Barrier(relays)

    def relay(n: int) -> None:
        publisher = Counting(n)
        try:
            start.wait()
            totals[n] = drain(workers[n], publisher=publisher, batch_size=5)
        finally:
            publisher.close()

    threads = [threading.Thread(target=relay, args=(n,)) for n in range(relays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sum(totals) == count
    assert Counter(event_id for _, event_id in published) == Counter(ids)  # each exactly once
    assert len({relay for relay, _ in published}) > 1  # the relays really shared the work
    assert sorted(e.id for e in handlers.events) == sorted(ids)
    assert stream_size(empty_stream) == count


def test_the_relay_thread_is_woken_by_the_commit_that_emits(
    runtimes: RuntimeFactory, handlers: Handlers
) -> None:
    runtime = runtimes()
    relay = OutboxRelay(runtime, poll_interval=30)  # only the wake-up can explain a prompt run
    relay.start()
    try:
        time.sleep(0.2)
        [event_id] = emit_cases(runtime, 1)
        deadline = time.monotonic() + 3
        while [e.id for e in handlers.events] != [event_id]:
            assert time.monotonic() < deadline, "the relay was not woken by the commit"
            time.sleep(0.02)
    finally:
        started = time.monotonic()
        relay.stop()
    assert time.monotonic() - started < 1
    assert not relay.is_alive()
    [row] = outbox(runtime)
    assert row.published_at is not None


def test_purge_removes_old_published_events_only(
    runtimes: RuntimeFactory, handlers: Handlers
) -> None:
    runtime = runtimes()
    emit_cases(runtime, 2)
    assert drain(runtime) == 2
    [waiting] = emit_cases(runtime, 1)
    with runtime.unit_of_work() as session:
        assert purge_published(session, before=utcnow() - timedelta(days=7)) == 0
        assert purge_published(session, before=utcnow() + timedelta(seconds=1)) == 2
    assert [r.id for r in outbox(runtime)] == [waiting]
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxDelivery)) == 0
