"""Alarms: raised by the rule engine, acknowledged, cleared by their rule or by a person
with a note, escalated when nobody acknowledges them in time.

One open alarm per rule and device: a rule firing again while its alarm is still open (a
rule whose alarms a person must clear) counts on that alarm instead of opening another.
Raising, escalating and clearing publish ``alarm.raised``, ``alarm.escalated`` and
``alarm.cleared`` on the bus (contingency plans listen); a rule with ``open_case`` puts the
case request in ``alarm.raised``, and the cases domain answers with ``attach_case``.
Every person's step is in the audit trail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.identity.authz import Actor
from cityos.foundation.telemetry.alarm_models import (
    OPEN_STATUSES,
    Alarm,
    AlarmNote,
    AlarmStatus,
)
from cityos.foundation.telemetry.models import Location, Thing, ThingLocation
from cityos.kernel.bus import emit
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import Conflict, NotFound
from cityos.kernel.jobs import schedule

if TYPE_CHECKING:
    # Types only: the rule engine imports this module to raise and clear alarms.
    from cityos.foundation.telemetry.rules.definition import CompiledRule

ESCALATE_JOB = "telemetry.alarm_escalate"


class AlarmNotFound(NotFound):
    code = "alarm_not_found"


class AlarmNotActive(Conflict):
    """Only an active alarm can be acknowledged."""

    code = "alarm_not_active"


class AlarmCleared(Conflict):
    """A cleared alarm takes no more steps or notes."""

    code = "alarm_cleared"


@dataclass(frozen=True)
class Firing:
    """A rule firing on a device: the reading that made it fire (none for silence)."""

    rule: CompiledRule
    thing: Thing
    value: float | None
    observed_at: datetime | None


def open_key(rule_id: str, thing_id: int) -> str:
    """The key an open alarm of this rule and device holds."""
    return f"{rule_id}:{thing_id}"


def _position(session: Session, thing_id: int) -> tuple[float | None, float | None]:
    found = session.execute(
        select(Location.lon, Location.lat)
        .join(ThingLocation, ThingLocation.location_id == Location.id)
        .where(ThingLocation.thing_id == thing_id)
        .order_by(Location.id)
        .limit(1)
    ).first()
    return (found.lon, found.lat) if found is not None else (None, None)


def event_payload(alarm: Alarm, rule: CompiledRule | None = None) -> dict[str, Any]:
    """What the bus events carry: enough for a plan or a map without reading the alarm."""
    payload: dict[str, Any] = {
        "alarm_id": str(alarm.id),
        "type": alarm.type,
        "severity": str(alarm.severity),
        "status": str(alarm.status),
        "count": alarm.count,
        "region_code": alarm.region_code,
        "location": ({"lon": alarm.lon, "lat": alarm.lat} if alarm.lon is not None else None),
        "device": {
            "id": alarm.thing_id,
            "code": alarm.device_code,
            "type": alarm.device_type_code,
        },
        "rule": {"id": alarm.rule_id, "name": {"zh": alarm.name_zh, "en": alarm.name_en}},
        "value": alarm.value,
        "observed_at": alarm.observed_at.isoformat() if alarm.observed_at else None,
    }
    if rule is not None and rule.entry.open_case is not None:
        wanted = rule.entry.open_case
        payload["open_case"] = {
            "category": wanted.category,
            "description": wanted.description or _describe(alarm),
        }
    return payload


def _describe(alarm: Alarm) -> str:
    reading = f"，读数 {alarm.value:g}" if alarm.value is not None else ""
    return f"物联感知告警：{alarm.name_zh}（设备 {alarm.device_code or alarm.thing_id}{reading}）"


def raise_alarm(session: Session, firing: Firing) -> Alarm:
    """Open the rule's alarm on the device, or count the firing on the one already open."""
    rule, thing = firing.rule, firing.thing
    now = utcnow()
    key = open_key(rule.id, thing.id)
    existing = session.scalar(select(Alarm).where(Alarm.open_key == key).with_for_update())
    if existing is not None:
        existing.count += 1
        existing.last_raised_at = now
        existing.value = firing.value
        existing.observed_at = firing.observed_at
        session.flush()
        return existing
    lon, lat = _position(session, thing.id)
    entry = rule.entry
    alarm = Alarm(
        rule_id=rule.id,
        type=entry.type or entry.id,
        name_zh=entry.name.zh,
        name_en=entry.name.en,
        severity=entry.severity,
        status=AlarmStatus.ACTIVE,
        thing_id=thing.id,
        device_code=thing.code,
        device_type_code=thing.device_type_code,
        region_code=thing.region_code,
        department_id=thing.department_id,
        lon=lon,
        lat=lat,
        value=firing.value,
        count=1,
        raised_at=now,
        last_raised_at=now,
        observed_at=firing.observed_at,
        open_key=key,
    )
    session.add(alarm)
    session.flush()
    emit(session, type="alarm.raised", key=str(alarm.id), payload=event_payload(alarm, rule))
    if rule.escalate_after is not None:
        schedule(
            session,
            name=ESCALATE_JOB,
            payload={"alarm_id": str(alarm.id)},
            due_at=now + rule.escalate_after,
            dedupe_key=f"{ESCALATE_JOB}:{alarm.id}",
        )
    return alarm


def _close(session: Session, alarm: Alarm, *, by: str) -> None:
    alarm.status = AlarmStatus.CLEARED
    alarm.cleared_at = utcnow()
    alarm.cleared_by = by
    alarm.open_key = None
    session.flush()
    emit(session, type="alarm.cleared", key=str(alarm.id), payload=event_payload(alarm))


def clear_by_rule(session: Session, *, rule_id: str, thing_id: int) -> Alarm | None:
    """Clear the open alarm of a rule on a device because its clear condition holds."""
    alarm = session.scalar(
        select(Alarm).where(Alarm.open_key == open_key(rule_id, thing_id)).with_for_update()
    )
    if alarm is not None:
        _close(session, alarm, by="rule")
    return alarm


def _audit(session: Session, actor: Actor, alarm: Alarm, action: str) -> None:
    record(
        session,
        actor=actor.username,
        action=action,
        target_type="alarm",
        target_id=str(alarm.id),
        outcome="success",
        details={"rule": alarm.rule_id, "status": str(alarm.status), "thing": alarm.thing_id},
    )


def _note(session: Session, alarm: Alarm, actor: Actor, text: str, kind: str) -> AlarmNote:
    note = AlarmNote(alarm_id=alarm.id, author=actor.username, kind=kind, text=text.strip())
    session.add(note)
    session.flush()
    return note


def acknowledge(session: Session, *, actor: Actor, alarm: Alarm, note: str | None = None) -> Alarm:
    """Someone has seen the alarm and takes it on: no escalation any more."""
    if alarm.status != AlarmStatus.ACTIVE:
        raise AlarmNotActive(f"the alarm is {alarm.status}, not active")
    alarm.status = AlarmStatus.ACKNOWLEDGED
    alarm.acknowledged_at = utcnow()
    alarm.acknowledged_by = actor.username
    if note and note.strip():
        _note(session, alarm, actor, note, "acknowledge")
    session.flush()
    _audit(session, actor, alarm, "alarm.acknowledge")
    return alarm


def clear(session: Session, *, actor: Actor, alarm: Alarm, note: str) -> Alarm:
    """Clear an open alarm by hand, saying why. The rule's state stays as it is, so a
    condition still holding does not fire again until it has cleared."""
    if alarm.status not in OPEN_STATUSES:
        raise AlarmCleared("the alarm is already cleared")
    _note(session, alarm, actor, note, "clear")
    _close(session, alarm, by=actor.username)
    _audit(session, actor, alarm, "alarm.clear")
    return alarm


def add_note(session: Session, *, actor: Actor, alarm: Alarm, text: str) -> AlarmNote:
    """A note on an open alarm."""
    if alarm.status not in OPEN_STATUSES:
        raise AlarmCleared("the alarm is already cleared")
    note = _note(session, alarm, actor, text, "note")
    _audit(session, actor, alarm, "alarm.note")
    return note


def notes_of(session: Session, alarm_id: uuid.UUID) -> list[AlarmNote]:
    """An alarm's notes, oldest first."""
    return list(
        session.scalars(
            select(AlarmNote).where(AlarmNote.alarm_id == alarm_id).order_by(AlarmNote.id)
        )
    )


def attach_case(session: Session, *, alarm_id: uuid.UUID, case_id: uuid.UUID) -> None:
    """Record the case opened for an alarm (the cases domain calls this)."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise AlarmNotFound(f"no alarm {alarm_id}")
    alarm.case_id = case_id
    session.flush()


def escalate_job(session: Session, payload: dict[str, Any]) -> None:
    """The ``telemetry.alarm_escalate`` job: an alarm nobody acknowledged in its rule's
    ``escalate_after`` is escalated (once), for the plans and the people above."""
    alarm = session.get(Alarm, uuid.UUID(str(payload["alarm_id"])), with_for_update=True)
    if alarm is None or alarm.status != AlarmStatus.ACTIVE or alarm.escalated_at is not None:
        return
    alarm.escalated_at = utcnow()
    alarm.escalations += 1
    session.flush()
    emit(session, type="alarm.escalated", key=str(alarm.id), payload=event_payload(alarm))
