"""City cases (城市事件/工单): the catalogue of categories, the routing table, each case
with its place and reporter, and the daily counter behind case numbers."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityos.foundation.privacy import EncryptedString, register_encrypted_column
from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base, IdMixin, TimestampMixin


class CategoryKind(StrEnum):
    """GB/T 30428 / CJ/T 214: 部件 (a city asset) or 事件 (an event)."""

    COMPONENT = "component"
    EVENT = "event"


class Channel(StrEnum):
    """How a case reached the district."""

    HOTLINE = "hotline"
    PORTAL = "portal"
    PATROL = "patrol"
    IOT = "iot"
    REFERRAL = "referral"
    OPEN311 = "open311"


class RequestType(StrEnum):
    """The 12345 axis: 咨询, 求助, 投诉, 举报, 建议."""

    CONSULT = "consult"
    HELP = "help"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGESTION = "suggestion"


class CaseCategory(TimestampMixin, Base):
    """A minor class of the catalogue, with its major class, time limits, default unit,
    required evidence and the words that suggest it."""

    __tablename__ = "case_category"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[CategoryKind] = mapped_column(String(16))
    major_code: Mapped[str] = mapped_column(String(8), index=True)
    major_name_zh: Mapped[str] = mapped_column(String(50))
    major_name_en: Mapped[str] = mapped_column(String(100))
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(100))
    sign_limit: Mapped[str] = mapped_column(String(32))
    handle_limit: Mapped[str] = mapped_column(String(32))
    department_code: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)


class RoutingRule(Base):
    """One row of the routing table: category and region patterns (``01*``,
    ``440303003*``) to a lead unit and assisting units; the first match wins."""

    __tablename__ = "case_routing_rule"

    position: Mapped[int] = mapped_column(primary_key=True)
    category_pattern: Mapped[str] = mapped_column(String(32))
    region_pattern: Mapped[str] = mapped_column(String(32))
    lead_department_code: Mapped[str] = mapped_column(String(64))
    assist_department_codes: Mapped[list[Any]] = mapped_column(default=list)


class Case(IdMixin, TimestampMixin, Base):
    """One problem that reached the district, however it came."""

    __tablename__ = "city_case"
    __table_args__ = (
        UniqueConstraint("channel", "source_ref"),
        # The list's filters, each ending in its order (created_at, id) for keyset pages.
        Index(
            "ix_city_case_subdistrict_status_created",
            "subdistrict_code",
            "status",
            "created_at",
            "id",
        ),
        Index("ix_city_case_category_created", "category_code", "created_at", "id"),
        Index("ix_city_case_status_created", "status", "created_at", "id"),
        # A period's evaluation and the newest-first list both start from the date.
        Index("ix_city_case_created_at", "created_at"),
    )

    number: Mapped[str] = mapped_column(String(24), unique=True)
    channel: Mapped[Channel] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(100))
    request_type: Mapped[RequestType] = mapped_column(String(16))
    category_code: Mapped[str | None] = mapped_column(String(16))
    suggested_category_code: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    community_code: Mapped[str | None] = mapped_column(String(15))
    subdistrict_code: Mapped[str | None] = mapped_column(String(15))
    outside_reason: Mapped[str | None] = mapped_column(String(200))
    reporter_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    reporter_name: Mapped[str | None] = mapped_column(
        EncryptedString("name", aad="city_case.reporter_name")
    )
    reporter_phone: Mapped[str | None] = mapped_column(
        EncryptedString("mobile", aad="city_case.reporter_phone")
    )
    reporter_phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32))
    workflow_instance_id: Mapped[uuid.UUID | None] = mapped_column()
    lead_department_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    assist_department_ids: Mapped[list[Any]] = mapped_column(default=list)
    master_case_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    satisfaction: Mapped[int | None] = mapped_column()
    reopened: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None] = mapped_column()
    registered_at: Mapped[datetime | None] = mapped_column()
    dispatched_at: Mapped[datetime | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    # What evaluation counts, kept as the case moves so a month of a million cases is
    # one grouped scan: each step on time or not, and how often it went back.
    signed_on_time: Mapped[bool | None] = mapped_column()
    handled_on_time: Mapped[bool | None] = mapped_column()
    closed_on_time: Mapped[bool | None] = mapped_column()
    handling_seconds: Mapped[int | None] = mapped_column()
    returned_count: Mapped[int] = mapped_column(default=0)
    extension_count: Mapped[int] = mapped_column(default=0)
    rework_count: Mapped[int] = mapped_column(default=0)
    supervised_count: Mapped[int] = mapped_column(default=0)
    synthetic: Mapped[bool] = mapped_column(default=False)


register_encrypted_column(Case.__table__, "id", "reporter_name")  # type: ignore[arg-type]
register_encrypted_column(Case.__table__, "id", "reporter_phone")  # type: ignore[arg-type]


class CaseNumber(Base):
    """The last case number given out each day (``LH`` + date + six digits)."""

    __tablename__ = "case_number"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
