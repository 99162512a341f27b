"""``GET /api/v1/live`` (also ``/api/v1/ioc/stream``): committed events as server-sent
events, for the IOC screen and any page that must show changes as they happen.

Each event is shown only to those who reach it: a payload with a ``region_code`` reaches
a jurisdiction grant over that region; one without a region is shown to district-wide
viewers only. Clients send their bearer token (``fetch`` with a readable body, since
``EventSource`` cannot set headers) and may resume with ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from cityos.foundation.identity.authz import Actor, reaches, require
from cityos.foundation.identity.models import Scope
from cityos.kernel.bus import Event
from cityos.kernel.bus.live import LiveFeed, missed, sse_message
from cityos.kernel.runtime import Runtime

PERMISSION = "live.read"
PERMISSIONS = {PERMISSION: {"zh": "订阅实时事件（大屏、工作台）", "en": "Follow live events"}}
HEARTBEAT_S = 15.0

router = APIRouter(tags=["live"])


def visible(actor: Actor, event: Event) -> bool:
    """Whether ``actor`` reaches what ``event`` is about (see the module docstring)."""
    region = event.payload.get("region_code")
    for grant in actor.grants:
        if PERMISSION not in grant.permissions:
            continue
        if grant.scope is Scope.DISTRICT:
            return True
        if region is not None and reaches(grant, actor, region_code=str(region)):
            return True
    return False


def feed_of(request: Request) -> LiveFeed:
    """The process's one feed, started on first use and stopped with the app."""
    state = request.app.state
    feed: LiveFeed | None = getattr(state, "live_feed", None)
    if feed is None:
        runtime: Runtime = state.runtime
        feed = LiveFeed(runtime)
        feed.start()
        state.live_feed = feed
    return feed


@router.get("/live", response_class=StreamingResponse)
# The IOC's name for the same feed (the screen's paths live under /ioc).
@router.get("/ioc/stream", response_class=StreamingResponse)
async def live(
    request: Request,
    actor: Annotated[Actor, Depends(require(PERMISSION))],
    types: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006 - FastAPI reads it
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Events as they are committed (``types``: patterns such as ``alarm.*``), as
    ``text/event-stream``, with a comment line every 15 s to keep proxies from closing it."""
    feed = feed_of(request)
    listener = feed.listen(types, asyncio.get_running_loop())
    backlog = missed(request.app.state.runtime, last_event_id, types) if last_event_id else []

    async def stream() -> AsyncIterator[str]:
        sent: set[object] = set()
        try:
            yield "retry: 3000\n\n"
            for event in backlog:
                sent.add(event.id)
                if visible(actor, event):
                    yield sse_message(event)
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(listener.queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if listener.lagged:
                    listener.lagged = False
                    yield "event: lagged\ndata: {}\n\n"
                if event.id not in sent and visible(actor, event):
                    yield sse_message(event)
        finally:
            feed.forget(listener)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
