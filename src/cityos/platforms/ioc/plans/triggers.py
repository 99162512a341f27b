"""What starts a plan besides a person: alarms (``alarm.raised`` events) and cases of a
category (``case.created`` and ``case.register`` events), each counted over a window in
the plan's region, and external warnings posted to ``/api/v1/plans/warnings``.

A trigger that fires with no open run of the plan proposes one (or starts it, with
``auto_start``); with an open run below the trigger's level, it raises the level when the
trigger starts plans by itself, and otherwise puts the proposal on the run's timeline for
the duty officer. Alarm events arrive at least once: the count is read from the alarms
themselves and the one-open-run rule holds, so a repeated event changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityos.domains.cases.models import Case
from cityos.foundation.audit import record
from cityos.foundation.identity.authz import Actor
from cityos.foundation.telemetry.alarm_models import Alarm
from cityos.kernel.bus import Event
from cityos.kernel.clock import utcnow
from cityos.platforms.ioc.plans.definition import SEVERITIES, PlanDef, TriggerDef, rank, seconds
from cityos.platforms.ioc.plans.models import ExternalWarning, Plan, PlanEvent, PlanRun, RunStatus
from cityos.platforms.ioc.plans.service import change_level, confirm, open_run, propose


def _within(region: str | None, plan_region: str) -> bool:
    """Whether ``region`` lies in (or is) the plan's region."""
    return region is not None and region.startswith(plan_region)


def _overlaps(region: str, plan_region: str) -> bool:
    """A warning for a wider area concerns a plan of a part of it, and the other way round."""
    return region.startswith(plan_region) or plan_region.startswith(region)


def _plans(session: Session) -> list[tuple[Plan, PlanDef]]:
    return [
        (plan, PlanDef.model_validate(plan.document))
        for plan in session.scalars(select(Plan).where(Plan.active).order_by(Plan.code))
    ]


def on_alarm_raised(session: Session, event: Event) -> None:
    """Count the plan-triggering alarms an ``alarm.raised`` event belongs to."""
    payload = event.payload
    kind, region = payload.get("type"), payload.get("region_code")
    severity = str(payload.get("severity"))
    if not isinstance(kind, str) or severity not in SEVERITIES:
        return
    grade = [str(s) for s in SEVERITIES].index(severity)
    now = utcnow()
    for plan, document in _plans(session):
        if not _within(region, plan.region_code):
            continue
        for trigger in document.triggers:
            if trigger.alarm != kind:
                continue
            if grade < SEVERITIES.index(trigger.severity):
                continue
            counted = _alarms(session, plan, trigger, now)
            if counted < trigger.count:
                continue
            _fire(
                session,
                plan,
                trigger,
                {
                    "kind": "alarm",
                    "alarm": kind,
                    "alarm_id": payload.get("alarm_id"),
                    "count": counted,
                    "severity": severity,
                },
                area=_point(payload.get("location")),
            )


def _alarms(session: Session, plan: Plan, trigger: TriggerDef, now: datetime) -> int:
    """Alarms of the trigger's type and at least its severity raised in the plan's region
    within its window (or ever, for a count of one)."""
    wanted = SEVERITIES[SEVERITIES.index(trigger.severity) :]
    stmt = select(func.count()).where(
        Alarm.type == trigger.alarm,
        Alarm.severity.in_(wanted),
        Alarm.region_code.startswith(plan.region_code, autoescape=True),
    )
    if trigger.within is not None:
        stmt = stmt.where(Alarm.raised_at >= now - timedelta(seconds=seconds(trigger.within)))
    return int(session.scalar(stmt) or 0)


def on_case_event(session: Session, event: Event) -> None:
    """Count the plan-triggering cases a new or newly registered case belongs to."""
    category, region = event.payload.get("category_code"), event.payload.get("region_code")
    if not isinstance(category, str) or not isinstance(region, str):
        return
    now = utcnow()
    for plan, document in _plans(session):
        if not _within(region, plan.region_code):
            continue
        for trigger in document.triggers:
            if trigger.cases is None or not category.startswith(trigger.cases):
                continue
            counted = _cases(session, plan, trigger, now)
            if counted >= trigger.count:
                fired = {
                    "kind": "cases",
                    "category": trigger.cases,
                    "case_id": event.payload.get("case_id"),
                    "count": counted,
                }
                _fire(session, plan, trigger, fired)


def _cases(session: Session, plan: Plan, trigger: TriggerDef, now: datetime) -> int:
    """Cases of the trigger's category reported in the plan's region within its window
    (merged duplicates apart: one problem reported twice is one)."""
    assert trigger.cases is not None
    stmt = select(func.count()).where(
        Case.category_code.startswith(trigger.cases, autoescape=True),
        Case.region_code.startswith(plan.region_code, autoescape=True),
        Case.master_case_id.is_(None),
    )
    if trigger.within is not None:
        stmt = stmt.where(Case.created_at >= now - timedelta(seconds=seconds(trigger.within)))
    return int(session.scalar(stmt) or 0)


def _point(location: Any) -> dict[str, Any] | None:
    if isinstance(location, Mapping) and location.get("lon") is not None:
        return {"type": "Point", "coordinates": [location["lon"], location["lat"]]}
    return None


def _fire(
    session: Session,
    plan: Plan,
    trigger: TriggerDef,
    fired: dict[str, Any],
    *,
    area: dict[str, Any] | None = None,
    region_code: str | None = None,
) -> PlanRun | None:
    """Propose or start the plan, or raise an open run's level (see the module docstring)."""
    running = open_run(session, plan.code)
    if running is not None:
        if rank(trigger.level) <= rank(running.level):
            return running
        if trigger.auto_start and running.status == RunStatus.ACTIVE.value:
            return change_level(
                session,
                run_id=running.id,
                actor=None,
                level=trigger.level,
                reason=f"触发条件：{_describe(fired)}",
            )
        session.add(
            PlanEvent(
                run_id=running.id,
                at=utcnow(),
                kind="raise_proposed",
                actor="system",
                data={"level": trigger.level, "trigger": fired},
            )
        )
        session.flush()
        return running
    try:
        with session.begin_nested():
            run = propose(
                session,
                plan=plan,
                trigger=fired,
                level=trigger.level,
                region_code=region_code,
                area=area,
            )
    except IntegrityError:
        # Another worker opened the plan's run at the same moment: theirs stands.
        return open_run(session, plan.code)
    if trigger.auto_start:
        confirm(session, run_id=run.id, actor=None)
    return run


def _describe(fired: Mapping[str, Any]) -> str:
    if fired.get("kind") == "warning":
        return str(fired.get("warning"))
    if fired.get("kind") == "cases":
        return f"{fired.get('category')} 类案件 × {fired.get('count')}"
    return f"{fired.get('alarm')} × {fired.get('count')}"


def post_warning(
    session: Session,
    *,
    actor: Actor,
    type: str,
    source: str,
    region_code: str,
    issued_at: datetime | None = None,
    area: Mapping[str, Any] | None = None,
    text: str | None = None,
) -> tuple[ExternalWarning, list[PlanRun]]:
    """Store an external warning and fire the plans that start on it; returns the runs it
    proposed, started or raised."""
    warning = ExternalWarning(
        id=uuid.uuid4(),
        type=type.strip(),
        source=source.strip(),
        region_code=region_code,
        area=dict(area) if area else None,
        issued_at=issued_at or utcnow(),
        received_at=utcnow(),
        posted_by=actor.username,
        text=text,
        runs=[],
    )
    session.add(warning)
    session.flush()
    runs: list[PlanRun] = []
    for plan, document in _plans(session):
        if not _overlaps(region_code, plan.region_code):
            continue
        for trigger in document.triggers:
            if trigger.warning != warning.type:
                continue
            fired = {"kind": "warning", "warning": warning.type, "warning_id": str(warning.id)}
            run = _fire(
                session,
                plan,
                trigger,
                fired,
                area=warning.area,
                region_code=region_code if region_code.startswith(plan.region_code) else None,
            )
            if run is not None and run not in runs:
                runs.append(run)
    warning.runs = [str(run.id) for run in runs]
    record(
        session,
        actor=actor.username,
        action="plan.warning_received",
        target_type="warning",
        target_id=str(warning.id),
        outcome="success",
        details={"type": warning.type, "region": region_code, "runs": warning.runs},
    )
    session.flush()
    return warning, runs
