"""The rule and alarm tables: rules as the profile declared them, each rule's state per
device (so a restarted process carries on where the last one stopped), alarms and their
notes.

One open alarm per rule and device is kept by the database itself: ``open_key`` is
``<rule>:<thing>`` while the alarm is open and NULL once it is cleared, under a unique
index (NULLs are distinct on both databases), so two workers cannot open two.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base, IdMixin, TimestampMixin


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


class AlarmStatus(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


OPEN_STATUSES = (AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED)


class Rule(TimestampMixin, Base):
    """A rule of the profile (``packs/*/rules.yaml``); ``document`` is its YAML entry as
    validated, which the engine compiles. Rules the profile dropped stay, inactive, so
    their alarms still name them."""

    __tablename__ = "iot_rule"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column()
    device_type_code: Mapped[str | None] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)


class RuleState(Base):
    """Where one rule stands for one device: ``raised`` since its condition fired and until
    its clear condition holds; ``since`` is when the condition being waited for (raise or
    clear) started to hold; ``last_time`` the newest reading judged, so a late reading
    cannot move the state back."""

    __tablename__ = "iot_rule_state"

    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thing_id: Mapped[int] = mapped_column(
        ForeignKey("iot_thing.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    raised: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime | None] = mapped_column()
    last_time: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Alarm(IdMixin, TimestampMixin, Base):
    """An alarm raised by a rule on a device, from active through acknowledged to cleared.

    The device's type, region, department and position are copied on raising, so the list
    filters and the jurisdiction check read this table alone.
    """

    __tablename__ = "iot_alarm"
    __table_args__ = (
        Index("ix_iot_alarm_status_severity", "status", "severity"),
        Index("ix_iot_alarm_rule_thing", "rule_id", "thing_id"),
    )

    rule_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    severity: Mapped[Severity] = mapped_column(String(16))
    status: Mapped[AlarmStatus] = mapped_column(String(16))
    thing_id: Mapped[int] = mapped_column(ForeignKey("iot_thing.id", ondelete="CASCADE"))
    device_code: Mapped[str | None] = mapped_column(String(100))
    device_type_code: Mapped[str | None] = mapped_column(String(64), index=True)
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column()
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    count: Mapped[int] = mapped_column(default=1)
    raised_at: Mapped[datetime] = mapped_column()
    last_raised_at: Mapped[datetime] = mapped_column()
    observed_at: Mapped[datetime | None] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    cleared_at: Mapped[datetime | None] = mapped_column()
    cleared_by: Mapped[str | None] = mapped_column(String(100))
    escalated_at: Mapped[datetime | None] = mapped_column()
    escalations: Mapped[int] = mapped_column(default=0)
    case_id: Mapped[uuid.UUID | None] = mapped_column()
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True)


class AlarmNote(IdMixin, Base):
    """A note on an alarm: what someone saw or did (required when clearing by hand)."""

    __tablename__ = "iot_alarm_note"

    alarm_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("iot_alarm.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="note")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
