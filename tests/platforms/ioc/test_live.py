"""Live events: what is committed reaches the listeners that want it, in any process
tailing the outbox, and each viewer sees only what they reach."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from cityos.foundation.identity.authz import Actor, Grant
from cityos.foundation.identity.models import Scope, UserKind
from cityos.kernel.bus import Event, emit
from cityos.kernel.bus.live import LiveFeed, missed, sse_message
from cityos.kernel.bus.models import OutboxEvent
from cityos.kernel.clock import utcnow
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime, build_runtime
from cityos.platforms.ioc.live import PERMISSION, visible
from cityos.settings import Settings

RUN = f"livetest{uuid.uuid4().hex[:8]}"


@pytest.fixture
def committing(settings: Settings, registry: Registry, database: object) -> Iterator[Runtime]:
    """A runtime whose units of work commit for real (the feed reads from its own thread);
    the events it leaves are removed afterwards."""
    runtime = build_runtime(settings, registry=registry)
    yield runtime
    with runtime.unit_of_work() as session:
        session.execute(delete(OutboxEvent).where(OutboxEvent.type.like(f"{RUN}.%")))
    runtime.close()


def _emit(runtime: Runtime, kind: str, region: str | None = None) -> uuid.UUID:
    payload = {"region_code": region} if region else {}
    with runtime.unit_of_work() as session:
        return emit(session, type=f"{RUN}.{kind}", payload=payload).id


def test_a_committed_event_reaches_the_listeners_that_want_it(committing: Runtime) -> None:
    feed = LiveFeed(committing, poll_interval=0.1)
    feed.start()
    # The listeners' loop runs in a thread of its own, as the server's does.
    loop = asyncio.new_event_loop()
    server = threading.Thread(target=loop.run_forever, daemon=True)
    server.start()
    try:
        alarms = feed.listen([f"{RUN}.alarm.*"], loop)
        everything = feed.listen([], loop)
        raised = _emit(committing, "alarm.raised", "440303003")
        case = _emit(committing, "case.created", "440303001")

        async def take(queue: asyncio.Queue[Event], n: int) -> list[uuid.UUID]:
            got = []
            while len(got) < n:
                event = await asyncio.wait_for(queue.get(), 10)
                if event.type.startswith(RUN):
                    got.append(event.id)
            return got

        def taken(queue: asyncio.Queue[Event], n: int) -> list[uuid.UUID]:
            return asyncio.run_coroutine_threadsafe(take(queue, n), loop).result(15)

        assert taken(alarms.queue, 1) == [raised]
        assert taken(everything.queue, 2) == [raised, case]
        assert alarms.queue.empty()
    finally:
        feed.request_stop()
        feed.join(5)
        loop.call_soon_threadsafe(loop.stop)
        server.join(5)
        loop.close()


def test_a_reconnect_gets_what_it_missed(committing: Runtime) -> None:
    first = _emit(committing, "alarm.raised")
    second = _emit(committing, "alarm.cleared")
    third = _emit(committing, "case.created")
    assert [e.id for e in missed(committing, str(first), [f"{RUN}.alarm.*"])] == [second]
    assert [e.id for e in missed(committing, str(first), [f"{RUN}.*"])] == [second, third]
    assert missed(committing, "not-an-id", []) == []


def _viewer(
    scope: Scope, *regions: str, permissions: frozenset[str] = frozenset({PERMISSION})
) -> Actor:
    grant = Grant(role="r", scope=scope, permissions=permissions, jurisdiction=regions)
    return Actor.of(user_id=uuid.uuid4(), username="v", kind=UserKind.STAFF, grants=[grant])


def _event(region: str | None) -> Event:
    payload = {"region_code": region} if region else {}
    return Event(
        id=uuid.uuid4(), type="alarm.raised", key=None, payload=payload, created_at=utcnow()
    )


def test_each_viewer_sees_only_what_they_reach() -> None:
    district = _viewer(Scope.DISTRICT)
    dongmen = _viewer(Scope.JURISDICTION, "440303003")
    other_permission = _viewer(Scope.DISTRICT, permissions=frozenset({"cases.read"}))
    in_dongmen, elsewhere, nowhere = _event("440303003002"), _event("440303001"), _event(None)
    assert [visible(district, e) for e in (in_dongmen, elsewhere, nowhere)] == [True, True, True]
    assert [visible(dongmen, e) for e in (in_dongmen, elsewhere, nowhere)] == [True, False, False]
    assert not visible(other_permission, in_dongmen)


def test_the_message_carries_its_id_type_and_body() -> None:
    event = _event("440303003")
    lines = sse_message(event).split("\n")
    assert lines[0] == f"id: {event.id}"
    assert lines[1] == "event: alarm.raised"
    assert lines[2].startswith("data: {")
    assert '"region_code":"440303003"' in lines[2]


@pytest.mark.parametrize("path", ["/api/v1/live", "/api/v1/ioc/stream"])
def test_the_stream_needs_a_signed_in_viewer(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 401
