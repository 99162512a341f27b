"""Tables of the outbox: events written with the change that caused them, and deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base
from cityos.kernel.ids import new_id


class OutboxEvent(Base):
    """A domain event, committed with the change it reports and published after the commit.

    ``published_at`` is set once NATS (when configured) and every matching in-process handler
    have it; until then the relay retries at ``next_attempt_at``. ``sent_at`` records the
    JetStream acknowledgement so a handler's retry does not publish to NATS again.
    """

    __tablename__ = "outbox_event"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(200))
    key: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None] = mapped_column(index=True)


class OutboxDelivery(Base):
    """One in-process handler has handled one event; written in the handler's own transaction.

    No foreign key to ``outbox_event``: on PostgreSQL the relay holds the event row locked
    (``FOR UPDATE``) while handlers run, and a foreign key check would wait on that lock.
    """

    __tablename__ = "outbox_delivery"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    handler: Mapped[str] = mapped_column(String(255), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(default=utcnow)
