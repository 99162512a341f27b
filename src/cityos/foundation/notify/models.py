"""Messages to people (站内信), how each went out on each channel, the places people
follow for area notices, and the area notices sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base, IdMixin, TimestampMixin


class Channel(StrEnum):
    """Where a message reaches its reader."""

    PORTAL = "portal"
    SMS = "sms"


class DeliveryStatus(StrEnum):
    """How sending one message on one channel stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Message(IdMixin, Base):
    """One message to one person, kept as a template code and its parameters so that it
    reads in the reader's language whenever it is shown.

    ``recipient_user_id`` is identity's user id, kept without a foreign key as the
    workflow engine does: this module's migrations stand on their own branch.
    """

    __tablename__ = "notify_message"
    __table_args__ = (
        # The reader's list, newest first (UUIDv7 ids order by creation), and the unread count.
        Index("ix_notify_message_recipient", "recipient_user_id", "id"),
        Index("ix_notify_message_unread", "recipient_user_id", "read_at"),
    )

    recipient_user_id: Mapped[uuid.UUID] = mapped_column()
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()


class Delivery(IdMixin, TimestampMixin, Base):
    """One message on one channel: pending until sent, failed after its last attempt, or
    skipped when the channel cannot reach the person (no phone for SMS)."""

    __tablename__ = "notify_delivery"
    __table_args__ = (UniqueConstraint("message_id", "channel"),)

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notify_message.id"), index=True)
    channel: Mapped[Channel] = mapped_column(String(16))
    status: Mapped[DeliveryStatus] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column()


class AreaSubscription(IdMixin, Base):
    """A place a person wants area notices for: their registered home (``home``) or an
    area they follow (``follow``), as a point placed on the region tree. A point of where
    someone lives is personal data: it is read only to match notices, never shown to staff."""

    __tablename__ = "notify_area_subscription"
    __table_args__ = (Index("ix_notify_area_subscription_region", "region_code"),)

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(50))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    region_code: Mapped[str | None] = mapped_column(String(15))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AreaNotice(IdMixin, Base):
    """A notice sent to everyone whose subscribed place lies in an area, with its counts."""

    __tablename__ = "notify_area_notice"
    __table_args__ = (Index("ix_notify_area_notice_created", "created_at", "id"),)

    title_zh: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(200))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    area: Mapped[dict[str, Any]] = mapped_column()
    region_code: Mapped[str | None] = mapped_column(String(15))
    sms: Mapped[bool] = mapped_column(default=False)
    sender: Mapped[str] = mapped_column(String(200))
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    recipients: Mapped[int] = mapped_column(default=0)
    sms_pending: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
