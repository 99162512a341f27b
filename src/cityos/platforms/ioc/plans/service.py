"""Running contingency plans: propose, confirm or dismiss, raise or lower the level, add
tasks, close with a summary; and the linked tasks' steps as they come back from the units.

A run is *proposed* when a trigger fires (a duty officer confirms or dismisses it) or
*active* at once when started by hand or by an ``auto_start`` trigger. Reaching a level
creates the linked tasks of that level and of every lower one not created yet (a Level I
response includes the Level IV–II measures), each a ``plan-task`` workflow instance in the
unit's unified inbox, tells the roles the level names, and sends the nearest available
resources the level asks for (freed again when the run ends). One run of a plan (and one
drill) is open at a time, enforced by the database. Every change is on the run's timeline,
audited, and published as a ``plan.*`` event for the IOC screen.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.identity.authz import Actor
from cityos.foundation.identity.models import Department
from cityos.foundation.notify import holders, notify, send_notice
from cityos.foundation.workflow import (
    Assignment,
    Step,
    SubjectHooks,
    WorkflowInstance,
    history,
    register_subject,
    start,
    system_act,
)
from cityos.kernel.bus import emit
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import Conflict, NotFound, ValidationFailed
from cityos.kernel.files import checked_attachments
from cityos.platforms.ioc.plans import resources
from cityos.platforms.ioc.plans.definition import (
    Level,
    NotifyDef,
    PlanDef,
    TaskDef,
    rank,
    seconds,
)
from cityos.platforms.ioc.plans.models import (
    OPEN_STATUSES,
    Plan,
    PlanEvent,
    PlanRun,
    PlanTask,
    RunStatus,
    TaskStatus,
)

TASK_WORKFLOW = "plan-task"
TASK_SUBJECT = "plan_task"
# Time a unit has to sign for a linked task, whatever the task's own limit.
SIGN_WITHIN = "15 minutes"
SYSTEM = "system"


class PlanNotFound(NotFound):
    code = "plan_not_found"


class RunNotFound(NotFound):
    code = "plan_run_not_found"


class RunClosed(Conflict):
    """The run is not active (proposed, closed or dismissed) for what was asked."""

    code = "plan_run_not_active"


# --- reading -------------------------------------------------------------------------------


def get_plan(session: Session, code: str) -> Plan:
    plan = session.get(Plan, code)
    if plan is None or not plan.active:
        raise PlanNotFound(f"no contingency plan {code!r}")
    return plan


def get_run(session: Session, run_id: uuid.UUID, *, for_update: bool = False) -> PlanRun:
    stmt = select(PlanRun).where(PlanRun.id == run_id)
    if for_update:
        stmt = stmt.with_for_update()
    run = session.scalar(stmt)
    if run is None:
        raise RunNotFound("no such plan run")
    return run


def definition_of(run: PlanRun) -> PlanDef:
    """The definition the run started with."""
    return PlanDef.model_validate(run.definition)


def tasks_of(session: Session, run_id: uuid.UUID) -> list[PlanTask]:
    return list(
        session.scalars(
            select(PlanTask)
            .where(PlanTask.run_id == run_id)
            .order_by(PlanTask.created_at, PlanTask.id)
        )
    )


def timeline_of(session: Session, run_id: uuid.UUID) -> list[PlanEvent]:
    return list(
        session.scalars(select(PlanEvent).where(PlanEvent.run_id == run_id).order_by(PlanEvent.id))
    )


def open_run(session: Session, plan_code: str, *, drill: bool = False) -> PlanRun | None:
    """The plan's proposed or active run (or drill), if any."""
    return session.scalar(
        select(PlanRun).where(
            PlanRun.plan_code == plan_code,
            PlanRun.drill.is_(drill),
            PlanRun.status.in_(OPEN_STATUSES),
        )
    )


# --- the run's life ------------------------------------------------------------------------


def propose(
    session: Session,
    *,
    plan: Plan,
    trigger: Mapping[str, Any],
    level: Level,
    region_code: str | None = None,
    area: Mapping[str, Any] | None = None,
    drill: bool = False,
    actor: Actor | None = None,
) -> PlanRun:
    """A new run, proposed (a duty officer confirms it). ``plan_run_open`` if the plan
    already has an open run (the unique index refuses a second one at commit, too)."""
    if open_run(session, plan.code, drill=drill) is not None:
        raise Conflict(
            f"plan {plan.code!r} already has an open run", code="plan_run_open", plan=plan.code
        )
    document = PlanDef.model_validate(plan.document)
    if level not in document.levels:
        raise ValidationFailed(
            f"plan {plan.code!r} has no level {level}",
            code="plan_level_unknown",
            errors=[{"field": "level", "message": f"one of {', '.join(document.levels)}"}],
        )
    run = PlanRun(
        id=uuid.uuid4(),
        plan_code=plan.code,
        definition=plan.document,
        name_zh=plan.name_zh,
        name_en=plan.name_en,
        level=level,
        status=RunStatus.PROPOSED.value,
        drill=drill,
        trigger=dict(trigger),
        region_code=region_code or plan.region_code,
        area=dict(area) if area else None,
    )
    session.add(run)
    session.flush()
    _timeline(session, run, "proposed", actor, data={"trigger": dict(trigger), "level": level})
    _publish(session, run, "plan.proposed")
    _audit(session, run, "plan.propose", actor, {"level": level, "trigger": trigger.get("kind")})
    return run


def launch(
    session: Session,
    *,
    plan_code: str,
    actor: Actor,
    level: Level,
    drill: bool = False,
    region_code: str | None = None,
    area: Mapping[str, Any] | None = None,
    comment: str | None = None,
) -> PlanRun:
    """Start a plan by hand (a duty officer's 启动预案): proposed and confirmed at once."""
    plan = get_plan(session, plan_code)
    trigger: dict[str, Any] = {"kind": "manual", "by": actor.username}
    if comment:
        trigger["comment"] = comment
    run = propose(
        session,
        plan=plan,
        trigger=trigger,
        level=level,
        region_code=region_code,
        area=area,
        drill=drill,
        actor=actor,
    )
    return confirm(session, run_id=run.id, actor=actor)


def confirm(
    session: Session, *, run_id: uuid.UUID, actor: Actor | None, level: Level | None = None
) -> PlanRun:
    """A proposed run becomes active (at ``level`` if given): its tasks go out."""
    run = get_run(session, run_id, for_update=True)
    if run.status != RunStatus.PROPOSED.value:
        raise RunClosed(f"the run is {run.status}, not proposed", status=run.status)
    document = definition_of(run)
    if level is not None:
        _known_level(document, level)
        run.level = level
    run.status = RunStatus.ACTIVE.value
    run.started_at = utcnow()
    run.started_by = actor.username if actor else SYSTEM
    session.flush()
    _timeline(session, run, "started", actor, data={"level": run.level})
    _reach(session, run, document, cast(Level, run.level), actor)
    _publish(session, run, "plan.started")
    _audit(session, run, "plan.start", actor, {"level": run.level})
    return run


def dismiss(session: Session, *, run_id: uuid.UUID, actor: Actor, reason: str) -> PlanRun:
    """A proposed run the duty officer judges not needed: kept, with the reason."""
    run = get_run(session, run_id, for_update=True)
    if run.status != RunStatus.PROPOSED.value:
        raise RunClosed(f"the run is {run.status}, not proposed", status=run.status)
    _required(reason, "reason")
    run.status = RunStatus.DISMISSED.value
    run.closed_at = utcnow()
    run.closed_by = actor.username
    run.summary = reason.strip()
    session.flush()
    _timeline(session, run, "dismissed", actor, data={"reason": reason.strip()})
    resources.release(session, run, actor)
    _publish(session, run, "plan.dismissed")
    _audit(session, run, "plan.dismiss", actor, {})
    return run


def change_level(
    session: Session, *, run_id: uuid.UUID, actor: Actor | None, level: Level, reason: str
) -> PlanRun:
    """Raise or lower an active run's level. Raising sends the new level's tasks (and any
    lower level's not sent yet); lowering keeps the tasks under way."""
    run = get_run(session, run_id, for_update=True)
    _active(run)
    document = definition_of(run)
    _known_level(document, level)
    _required(reason, "reason")
    if level == run.level:
        raise Conflict(f"the run is already at level {level}", code="plan_level_unchanged")
    before = run.level
    run.level = level
    session.flush()
    kind = "level_raised" if rank(level) > rank(before) else "level_lowered"
    _timeline(session, run, kind, actor, data={"from": before, "to": level, "reason": reason})
    if kind == "level_raised":
        _reach(session, run, document, level, actor)
    _publish(session, run, "plan.level_changed")
    _audit(session, run, "plan.change_level", actor, {"from": before, "to": level})
    return run


def add_task(
    session: Session,
    *,
    run_id: uuid.UUID,
    actor: Actor,
    department: str,
    do: str,
    within: str,
    do_en: str | None = None,
) -> PlanTask:
    """A task the plan did not foresee, sent by the duty officer to ``department``."""
    run = get_run(session, run_id, for_update=True)
    _active(run)
    _required(do, "do")
    try:
        task = TaskDef.model_validate(
            {
                "department": department,
                "do": {"zh": do.strip(), "en": (do_en or do).strip()},
                "within": within,
            }
        )
    except PydanticValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise ValidationFailed(
            "the task is not valid", code="plan_task_invalid", errors=errors
        ) from None
    created = _send(session, run, task, run.level, actor, added=True)
    _publish(session, run, "plan.task_added")
    return created


def close(session: Session, *, run_id: uuid.UUID, actor: Actor, summary: str) -> PlanRun:
    """End an active run with its summary; tasks still open are cancelled."""
    run = get_run(session, run_id, for_update=True)
    _active(run)
    _required(summary, "summary")
    for task in tasks_of(session, run.id):
        if task.status == TaskStatus.OPEN.value and task.instance_id is not None:
            instance = session.get(WorkflowInstance, task.instance_id)
            if instance is not None:
                system_act(session, instance=instance, action="cancel", reason="预案已结束")
    run.status = RunStatus.CLOSED.value
    run.closed_at = utcnow()
    run.closed_by = actor.username
    run.summary = summary.strip()
    session.flush()
    _timeline(session, run, "closed", actor, data={"summary": run.summary})
    resources.release(session, run, actor)
    _publish(session, run, "plan.closed")
    _audit(session, run, "plan.close", actor, {})
    return run


# --- tasks ---------------------------------------------------------------------------------


def _reach(
    session: Session, run: PlanRun, document: PlanDef, level: Level, actor: Actor | None
) -> None:
    """Send the tasks of ``level`` and the lower levels not sent yet; tell ``level``'s roles."""
    sent = {task.key for task in tasks_of(session, run.id)}
    for declared in sorted(document.levels, key=rank):
        if rank(declared) > rank(level):
            continue
        for task in document.levels[declared].tasks:
            if task.key not in sent:
                _send(session, run, task, declared, actor, added=False)
                sent.add(task.key)
    for wanted in document.levels[level].notify:
        if wanted.residents:
            _tell_residents(session, run, wanted, actor)
            continue
        people = holders(session, roles=wanted.roles, region_code=run.region_code)
        notify(
            session,
            recipients=people,
            template=wanted.template,
            params={
                "plan": {"zh-CN": run.name_zh, "en": run.name_en},
                "level": {
                    "zh-CN": document.level_name(level).zh,
                    "en": document.level_name(level).en,
                },
                "drill": {"zh-CN": "（演练）", "en": " (drill)"} if run.drill else "",
            },
            subject_type="plan_run",
            subject_id=str(run.id),
            link=f"#/plans/{run.id}",
        )
        _timeline(
            session, run, "notified", actor, data={"roles": wanted.roles, "people": len(people)}
        )
    resources.dispatch_for(session, run, document, level, actor)


def _tell_residents(session: Session, run: PlanRun, wanted: NotifyDef, actor: Actor | None) -> None:
    """The level's notice to the residents of the run's area (a drawn polygon), else of its
    region. A drill tells no resident: it says so on the timeline instead."""
    assert wanted.message is not None
    if run.drill:
        _timeline(session, run, "residents_not_told", actor, data={"reason": "drill"})
        return
    polygon = run.area if run.area and run.area.get("type") in ("Polygon", "MultiPolygon") else None
    notice = send_notice(
        session,
        sender=actor,
        title={"zh": run.name_zh, "en": run.name_en},
        body={"zh": wanted.message.zh, "en": wanted.message.en},
        area=polygon,
        region_code=None if polygon else run.region_code,
        sms=wanted.sms,
        subject_type="plan_run",
        subject_id=str(run.id),
    )
    _timeline(
        session,
        run,
        "residents_notified",
        actor,
        data={
            "notice_id": str(notice.id),
            "recipients": notice.recipients,
            "sms_pending": notice.sms_pending,
        },
    )


def _send(
    session: Session, run: PlanRun, task: TaskDef, level: str, actor: Actor | None, *, added: bool
) -> PlanTask:
    department = session.scalar(select(Department).where(Department.code == task.department))
    if department is None:
        raise ValidationFailed(
            f"no department {task.department!r}",
            code="department_unknown",
            errors=[{"field": "department", "message": "unknown department"}],
        )
    now = utcnow()
    row = PlanTask(
        id=uuid.uuid4(),
        run_id=run.id,
        level=level,
        key=task.key,
        department_code=department.code,
        department_id=department.id,
        title_zh=task.do.zh,
        title_en=task.do.en,
        within=task.within,
        report_zh=task.report.zh if task.report else None,
        report_en=task.report.en if task.report else None,
        due_at=now + timedelta(seconds=seconds(task.within)),
        status=TaskStatus.OPEN.value,
        state="assigned",
        added_by=actor.username if (actor and added) else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    drill = "【演练】" if run.drill else ""
    instance = start(
        session,
        workflow_id=TASK_WORKFLOW,
        subject_type=TASK_SUBJECT,
        subject_id=str(row.id),
        actor=actor,
        title=f"{drill}【{run.name_zh}】{task.do.zh}"[:200],
        region_code=run.region_code,
        department_id=department.id,
        assignment=Assignment(role="handler", department_id=department.id),
        parameters={"task": {"sign": SIGN_WITHIN, "limit": task.within}},
    )
    row.instance_id = instance.id
    row.state = instance.state
    session.flush()
    _timeline(
        session,
        run,
        "task_added" if added else "task_sent",
        actor,
        task_id=row.id,
        data={"department": department.code, "do": task.do.zh, "level": level},
    )
    return row


def _prepare_task(session: Session, instance: WorkflowInstance, step: Step) -> None:
    """Before a unit's step: the run must be active (a closed plan takes no reports), and a
    task signed for gets what is left of its time to finish."""
    task = _task_of(session, instance)
    run = get_run(session, task.run_id)
    if step.action != "cancel" and run.status != RunStatus.ACTIVE.value:
        raise RunClosed(
            f"the plan run is {run.status}; its tasks take no more steps", status=run.status
        )
    if step.action == "sign":
        left = max(60, int((task.due_at - utcnow()).total_seconds()))
        step.parameters = {"task": {"sign": SIGN_WITHIN, "limit": f"{left // 60} minutes"}}
    if step.attachments:
        step.attachments = checked_attachments(session, step.attachments)


def _follow_task(
    session: Session, instance: WorkflowInstance, step: Step, actor: Actor | None
) -> None:
    """After a unit's step: the task mirrors its state, and the run's timeline tells it."""
    task = _task_of(session, instance)
    run = get_run(session, task.run_id)
    task.state = instance.state
    if instance.state == "done":
        task.status, task.finished_at = TaskStatus.DONE.value, utcnow()
    elif instance.state == "cancelled":
        task.status, task.finished_at = TaskStatus.CANCELLED.value, utcnow()
    last = history(session, instance.id)[-1]
    _timeline(
        session,
        run,
        f"task_{step.action}",
        actor,
        task_id=task.id,
        data={
            "department": task.department_code,
            "do": task.title_zh,
            "state": instance.state,
            "comment": last.comment,
            "attachments": [a.get("sha256") for a in step.attachments],
        },
    )
    _publish(session, run, "plan.task_updated", task=task)


def _task_of(session: Session, instance: WorkflowInstance) -> PlanTask:
    task = session.get(PlanTask, uuid.UUID(instance.subject_id))
    if task is None:
        raise NotFound("no such plan task", code="plan_task_not_found")
    return task


register_subject(TASK_SUBJECT, SubjectHooks(prepare=_prepare_task, follow=_follow_task))


# --- helpers -------------------------------------------------------------------------------


def _known_level(document: PlanDef, level: str) -> None:
    if level not in document.levels:
        raise ValidationFailed(
            f"this plan has no level {level}",
            code="plan_level_unknown",
            errors=[{"field": "level", "message": f"one of {', '.join(document.levels)}"}],
        )


def _active(run: PlanRun) -> None:
    if run.status != RunStatus.ACTIVE.value:
        raise RunClosed(f"the run is {run.status}, not active", status=run.status)


def _required(text: str | None, field: str) -> None:
    if not text or not text.strip():
        raise ValidationFailed(
            f"{field} is required",
            code="step_incomplete",
            errors=[{"field": field, "message": "required", "type": "missing"}],
        )


def _timeline(
    session: Session,
    run: PlanRun,
    kind: str,
    actor: Actor | None,
    *,
    task_id: uuid.UUID | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    session.add(
        PlanEvent(
            run_id=run.id,
            at=utcnow(),
            kind=kind,
            actor=actor.username if actor else SYSTEM,
            task_id=task_id,
            data=dict(data or {}),
        )
    )


def _publish(session: Session, run: PlanRun, type: str, *, task: PlanTask | None = None) -> None:
    payload: dict[str, Any] = {
        "run_id": str(run.id),
        "plan": run.plan_code,
        "name": {"zh": run.name_zh, "en": run.name_en},
        "level": run.level,
        "status": run.status,
        "drill": run.drill,
        "region_code": run.region_code,
    }
    if task is not None:
        payload["task"] = {
            "id": str(task.id),
            "department": task.department_code,
            "state": task.state,
            "status": task.status,
        }
    emit(session, type=type, key=str(run.id), payload=payload)


def _audit(
    session: Session, run: PlanRun, action: str, actor: Actor | None, details: Mapping[str, Any]
) -> None:
    record(
        session,
        actor=actor.username if actor else SYSTEM,
        action=action,
        target_type="plan_run",
        target_id=str(run.id),
        outcome="success",
        details={"plan": run.plan_code, "drill": run.drill, **details},
    )


def counts_by_status(session: Session, runs: Sequence[PlanRun]) -> dict[uuid.UUID, dict[str, int]]:
    """For each run, how many of its tasks are open, done and cancelled."""
    found: dict[uuid.UUID, dict[str, int]] = {run.id: {} for run in runs}
    if not runs:
        return found
    for run_id, status in session.execute(
        select(PlanTask.run_id, PlanTask.status).where(PlanTask.run_id.in_(list(found)))
    ):
        bucket = found[run_id]
        bucket[status] = bucket.get(status, 0) + 1
    return found


def overdue(task: PlanTask, now: datetime | None = None) -> bool:
    """Whether an open task is past its deadline."""
    return task.status == TaskStatus.OPEN.value and task.due_at < (now or utcnow())
