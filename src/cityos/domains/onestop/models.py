"""Tables of one-stop services: the service-item catalogue as the profile declares it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base


class ServiceItem(Base):
    """One service item (政务服务事项); ``document`` is its whole ``ItemDef``."""

    __tablename__ = "onestop_item"
    __table_args__ = (Index("ix_onestop_item_department", "department_code"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(16))
    department_code: Mapped[str] = mapped_column(String(64))
    applicant: Mapped[list[str]] = mapped_column(JSON)
    legal_days: Mapped[int] = mapped_column()
    promised_days: Mapped[int] = mapped_column()
    visits: Mapped[int] = mapped_column()
    life_events: Mapped[list[str]] = mapped_column(JSON)
    # Names, life events and topics in both languages, lower-cased: what a keyword meets.
    search_text: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any]] = mapped_column()
    demo: Mapped[bool] = mapped_column(default=False)
    pack: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
