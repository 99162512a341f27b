"""``/api/v1/alarms``: the alarms within one's reach, one alarm with its notes, and the
steps people take on them (acknowledge, clear with a note, add a note)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cityos.foundation.identity.authz import Actor, reach_clause, require
from cityos.foundation.telemetry import alarms
from cityos.foundation.telemetry.alarm_models import (
    OPEN_STATUSES,
    Alarm,
    AlarmNote,
    AlarmStatus,
    Severity,
)
from cityos.kernel.http import DbSession
from cityos.kernel.pagination import PageOut, PageQuery, paginate

router = APIRouter(prefix="/alarms", tags=["alarms 告警"])

PERMISSIONS: dict[str, dict[str, str]] = {
    "alarms.read": {"zh": "查看物联告警", "en": "Read IoT alarms"},
    "alarms.act": {
        "zh": "确认、消除物联告警并添加备注",
        "en": "Acknowledge, clear and annotate IoT alarms",
    },
}

MESSAGES: dict[str, dict[str, str]] = {
    "alarm_not_found": {
        "zh-CN": "告警不存在或不在您的管辖范围内",
        "en": "No such alarm within your reach",
    },
    "alarm_not_active": {
        "zh-CN": "只有未确认的告警可以确认",
        "en": "Only an active alarm can be acknowledged",
    },
    "alarm_cleared": {"zh-CN": "告警已消除", "en": "The alarm is already cleared"},
}


class NoteOut(BaseModel):
    id: uuid.UUID
    author: str
    kind: str
    text: str
    created_at: datetime


class AlarmOut(BaseModel):
    id: uuid.UUID
    rule_id: str
    type: str
    name_zh: str
    name_en: str
    severity: Severity
    status: AlarmStatus
    device_id: int
    device_code: str | None
    device_type: str | None
    region_code: str | None
    lon: float | None
    lat: float | None
    value: float | None
    count: int
    raised_at: datetime
    last_raised_at: datetime
    observed_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    cleared_by: str | None
    escalated_at: datetime | None
    case_id: uuid.UUID | None
    notes: list[NoteOut] | None = Field(default=None, description="on a single alarm only")


class AcknowledgeIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class NoteIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000, pattern=r"\S")


def _out(alarm: Alarm, notes: list[AlarmNote] | None = None) -> AlarmOut:
    return AlarmOut(
        id=alarm.id,
        rule_id=alarm.rule_id,
        type=alarm.type,
        name_zh=alarm.name_zh,
        name_en=alarm.name_en,
        severity=alarm.severity,
        status=alarm.status,
        device_id=alarm.thing_id,
        device_code=alarm.device_code,
        device_type=alarm.device_type_code,
        region_code=alarm.region_code,
        lon=alarm.lon,
        lat=alarm.lat,
        value=alarm.value,
        count=alarm.count,
        raised_at=alarm.raised_at,
        last_raised_at=alarm.last_raised_at,
        observed_at=alarm.observed_at,
        acknowledged_at=alarm.acknowledged_at,
        acknowledged_by=alarm.acknowledged_by,
        cleared_at=alarm.cleared_at,
        cleared_by=alarm.cleared_by,
        escalated_at=alarm.escalated_at,
        case_id=alarm.case_id,
        notes=(
            [
                NoteOut(id=n.id, author=n.author, kind=n.kind, text=n.text, created_at=n.created_at)
                for n in notes
            ]
            if notes is not None
            else None
        ),
    )


def _reach(stmt: Select[Any], actor: Actor, permission: str) -> Select[Any]:
    """Alarms whose place (and unit, for a unit-bound grant) the actor's grants giving
    ``permission`` reach."""
    reach = reach_clause(
        actor,
        region_column=Alarm.region_code,
        department_column=Alarm.department_id,
        permission=permission,
        department_optional=True,
    )
    return stmt if reach is None else stmt.where(reach)


def _visible(session: Session, actor: Actor, alarm_id: uuid.UUID, permission: str) -> Alarm:
    """The alarm, locked for the step about to be taken, if ``actor`` reaches it."""
    stmt = _reach(select(Alarm).where(Alarm.id == alarm_id), actor, permission)
    found: Alarm | None = session.scalar(stmt.with_for_update())
    if found is None:
        raise alarms.AlarmNotFound("no such alarm within your reach")
    return found


def _detail(session: Session, alarm: Alarm) -> AlarmOut:
    return _out(alarm, alarms.notes_of(session, alarm.id))


@router.get("", response_model=PageOut[AlarmOut])
def list_alarms(
    session: DbSession,
    page: PageQuery,
    actor: Annotated[Actor, Depends(require("alarms.read"))],
    status_filter: Annotated[AlarmStatus | None, Query(alias="status")] = None,
    severity: Severity | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6,15}$")] = None,
    device_type: Annotated[str | None, Query(max_length=64)] = None,
    rule: Annotated[str | None, Query(max_length=64, description="the rule's id")] = None,
    open_only: Annotated[bool, Query(alias="open", description="active or acknowledged")] = False,
) -> PageOut[AlarmOut]:
    """Alarms within your reach, newest first, filtered."""
    stmt = _reach(select(Alarm), actor, "alarms.read")
    if status_filter is not None:
        stmt = stmt.where(Alarm.status == status_filter)
    if open_only:
        stmt = stmt.where(Alarm.status.in_(OPEN_STATUSES))
    if severity is not None:
        stmt = stmt.where(Alarm.severity == severity)
    if region:
        stmt = stmt.where(Alarm.region_code.startswith(region))
    if device_type:
        stmt = stmt.where(Alarm.device_type_code == device_type)
    if rule:
        stmt = stmt.where(Alarm.rule_id == rule)
    found = paginate(
        session, stmt, order_by=[Alarm.id.desc()], cursor=page.cursor, limit=page.limit
    )
    return PageOut(items=[_out(a) for a in found.items], next_cursor=found.next_cursor)


@router.get("/{alarm_id}", response_model=AlarmOut)
def read_alarm(
    alarm_id: uuid.UUID,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("alarms.read"))],
) -> AlarmOut:
    """One alarm with its notes."""
    return _detail(session, _visible(session, actor, alarm_id, "alarms.read"))


@router.post("/{alarm_id}/acknowledge", response_model=AlarmOut)
def acknowledge_alarm(
    alarm_id: uuid.UUID,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("alarms.act"))],
    body: AcknowledgeIn | None = None,
) -> AlarmOut:
    """Take the alarm on (it will not be escalated), optionally with a note."""
    alarm = _visible(session, actor, alarm_id, "alarms.act")
    alarms.acknowledge(session, actor=actor, alarm=alarm, note=body.note if body else None)
    return _detail(session, alarm)


@router.post("/{alarm_id}/clear", response_model=AlarmOut)
def clear_alarm(
    alarm_id: uuid.UUID,
    body: NoteIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("alarms.act"))],
) -> AlarmOut:
    """Clear the alarm by hand, saying why."""
    alarm = _visible(session, actor, alarm_id, "alarms.act")
    alarms.clear(session, actor=actor, alarm=alarm, note=body.note)
    return _detail(session, alarm)


@router.post("/{alarm_id}/notes", status_code=status.HTTP_201_CREATED, response_model=AlarmOut)
def add_alarm_note(
    alarm_id: uuid.UUID,
    body: NoteIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("alarms.act"))],
) -> AlarmOut:
    """Add a note to an open alarm."""
    alarm = _visible(session, actor, alarm_id, "alarms.act")
    alarms.add_note(session, actor=actor, alarm=alarm, text=body.note)
    return _detail(session, alarm)
