"""Writing events: ``emit`` adds a row to the outbox in the caller's transaction."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cityos.kernel.bus.models import OutboxDelivery, OutboxEvent
from cityos.kernel.clock import utcnow
from cityos.kernel.ids import new_id

# Set on a session that emitted, so the relay of this process can be woken after its commit.
EMITTED = "cityos.bus.emitted"

# Dot-separated tokens: the type becomes the NATS subject ``cityos.<type>``, where spaces,
# ``*`` and ``>`` would change its meaning.
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


@dataclass(frozen=True)
class Event:
    """A committed event as handlers and NATS consumers see it."""

    id: uuid.UUID
    type: str
    key: str | None
    payload: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: OutboxEvent) -> Event:
        return cls(
            id=row.id, type=row.type, key=row.key, payload=row.payload, created_at=row.created_at
        )

    def to_json(self) -> bytes:
        """The message body published to NATS."""
        body = {
            "id": str(self.id),
            "type": self.type,
            "key": self.key,
            "payload": self.payload,
            "created_at": self.created_at.isoformat(),
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def emit(
    session: Session, *, type: str, payload: dict[str, Any], key: str | None = None
) -> OutboxEvent:
    """Record an event in the caller's transaction; it is published only if that commits.

    ``type`` is dot-separated (``case.dispatched``) and becomes the NATS subject
    ``cityos.<type>``; ``payload`` must be JSON (ids as strings); ``key`` names the thing the
    event is about (a case id, say) for consumers that group by it.
    """
    if len(type) > 200 or not _EVENT_TYPE.fullmatch(type):
        raise ValueError(f"invalid event type {type!r}: use dot-separated words like 'case.closed'")
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload of event {type!r} is not JSON: {exc}") from exc
    now = utcnow()
    row = OutboxEvent(
        id=new_id(),
        type=type,
        key=key,
        payload=payload,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
    )
    session.add(row)
    session.info[EMITTED] = True
    return row


def purge_published(session: Session, *, before: datetime) -> int:
    """Delete events published before ``before`` with their delivery records; returns how many."""
    old = select(OutboxEvent.id).where(OutboxEvent.published_at < before)
    session.execute(delete(OutboxDelivery).where(OutboxDelivery.event_id.in_(old)))
    result = session.execute(delete(OutboxEvent).where(OutboxEvent.published_at < before))
    return int(getattr(result, "rowcount", 0))


def purge_job(session: Session, payload: dict[str, Any]) -> None:
    """The ``bus.purge`` job: keep ``keep_days`` (default 7) days of published events."""
    keep = timedelta(days=float(payload.get("keep_days", 7)))
    purge_published(session, before=utcnow() - keep)
