"""Tables of contingency plans: their definitions, runs, linked tasks, timelines and the
external warnings posted in."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base
from cityos.kernel.ids import new_id


class RunStatus(StrEnum):
    PROPOSED = "proposed"  # a trigger fired; a duty officer confirms or dismisses
    ACTIVE = "active"
    CLOSED = "closed"
    DISMISSED = "dismissed"


OPEN_STATUSES = (RunStatus.PROPOSED.value, RunStatus.ACTIVE.value)


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Plan(Base):
    """A plan as the profile declares it (the document is the ``PlanDef``)."""

    __tablename__ = "ioc_plan"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(15))
    pack: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlanRun(Base):
    """One run of a plan, from its trigger to its close. Keeps the definition it started
    with, so a profile reload does not change a plan under way."""

    __tablename__ = "ioc_plan_run"
    __table_args__ = (
        Index("ix_ioc_plan_run_status", "status", "plan_code"),
        Index("ix_ioc_plan_run_created", "created_at", "id"),
        # One open run of a plan at a time (and one open drill), whoever opens it.
        Index(
            "uq_ioc_plan_run_open",
            "plan_code",
            "drill",
            unique=True,
            postgresql_where=text("status IN ('proposed', 'active')"),
            sqlite_where=text("status IN ('proposed', 'active')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    plan_code: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column()
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    drill: Mapped[bool] = mapped_column(default=False)
    # {"kind": "alarm"|"warning"|"manual", ...what fired it}
    trigger: Mapped[dict[str, Any]] = mapped_column()
    region_code: Mapped[str] = mapped_column(String(15), index=True)
    # The affected area as a GeoJSON geometry, when known (drawn, or the alarms' points).
    area: Mapped[dict[str, Any] | None] = mapped_column()
    summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    started_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by: Mapped[str | None] = mapped_column(String(200))
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 - SQLAlchemy reads it


class PlanTask(Base):
    """A linked task of a run: a workflow instance (``plan-task``) in the unit's inbox."""

    __tablename__ = "ioc_plan_task"
    __table_args__ = (Index("ix_ioc_plan_task_run", "run_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column()
    level: Mapped[str] = mapped_column(String(3))
    key: Mapped[str] = mapped_column(String(300))
    department_code: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[uuid.UUID] = mapped_column()
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(500))
    within: Mapped[str] = mapped_column(String(32))
    # What the report back must contain, when the plan says.
    report_zh: Mapped[str | None] = mapped_column(String(300))
    report_en: Mapped[str | None] = mapped_column(String(500))
    due_at: Mapped[datetime] = mapped_column()
    instance_id: Mapped[uuid.UUID | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN.value)
    state: Mapped[str] = mapped_column(String(64))
    added_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class PlanEvent(Base):
    """One line of a run's timeline: what happened, when, by whom."""

    __tablename__ = "ioc_plan_event"
    __table_args__ = (Index("ix_ioc_plan_event_run", "run_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[uuid.UUID] = mapped_column()
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(200))
    task_id: Mapped[uuid.UUID | None] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ExternalWarning(Base):
    """An external warning posted in (暴雨红色预警 from the meteorological service …)."""

    __tablename__ = "ioc_warning"
    __table_args__ = (Index("ix_ioc_warning_received", "received_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(15))
    area: Mapped[dict[str, Any] | None] = mapped_column()
    issued_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by: Mapped[str] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    # The runs it proposed or started, for the warning list.
    runs: Mapped[list[str]] = mapped_column(JSON, default=list)


class ResourceStatus(StrEnum):
    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    UNAVAILABLE = "unavailable"


class Resource(Base):
    """A team, vehicle, stock of material or shelter a plan can send or open, where it is,
    and whether it is free (``run_id``: the run it was sent to)."""

    __tablename__ = "ioc_resource"
    __table_args__ = (Index("ix_ioc_resource_type_status", "type", "status"),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # team, vehicle, material, shelter
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    department_code: Mapped[str | None] = mapped_column(String(64))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    capacity: Mapped[int | None] = mapped_column()  # people, for a shelter or a team
    quantity: Mapped[float | None] = mapped_column(Float)  # for material
    unit: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=ResourceStatus.AVAILABLE.value)
    run_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    pack: Mapped[str] = mapped_column(String(64))
    synthetic: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
