"""``/api/v1/plans``: contingency plans, their runs (the command view) and the external
warnings posted in.

Units act on their linked tasks through the unified inbox (``/api/v1/workflow``); here the
duty officer starts, confirms, dismisses, raises or lowers, adds tasks to and closes runs.
A run is seen by those whose ``plans.read`` reaches its region.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.identity.authz import Actor, reach_clause, require
from cityos.foundation.identity.models import Department
from cityos.kernel.clock import utcnow
from cityos.kernel.http import DbSession
from cityos.kernel.pagination import PageOut, PageQuery, paginate
from cityos.platforms.ioc.plans import resources, service, triggers
from cityos.platforms.ioc.plans.definition import Level, PlanDef
from cityos.platforms.ioc.plans.models import ExternalWarning, Plan, PlanEvent, PlanRun, PlanTask

router = APIRouter(prefix="/plans", tags=["plans 应急预案"])

PERMISSIONS: dict[str, dict[str, str]] = {
    "plans.read": {"zh": "查看应急预案及其启动情况", "en": "Read contingency plans and runs"},
    "plans.run": {
        "zh": "启动、确认、升降级和结束应急预案",
        "en": "Start, confirm, change the level of and close contingency plans",
    },
    "plans.warnings.post": {"zh": "接收外部预警信息", "en": "Post external warnings"},
}
MESSAGES: dict[str, dict[str, str]] = {
    "plan_not_found": {"zh-CN": "应急预案不存在", "en": "No such contingency plan"},
    "plan_run_not_found": {
        "zh-CN": "预案启动记录不存在或不在您的管辖范围内",
        "en": "No such plan run within your reach",
    },
    "plan_run_open": {
        "zh-CN": "该预案已在启动中，请在现有记录上操作",
        "en": "This plan already has an open run",
    },
    "plan_run_not_active": {
        "zh-CN": "该预案未处于响应状态，不能执行此操作",
        "en": "The plan run is not active for this",
    },
    "plan_level_unknown": {"zh-CN": "预案没有该响应级别", "en": "The plan has no such level"},
    "plan_level_unchanged": {
        "zh-CN": "预案已处于该响应级别",
        "en": "The run is already at that level",
    },
    "plan_task_not_found": {"zh-CN": "联动任务不存在", "en": "No such linked task"},
    "plan_task_invalid": {"zh-CN": "联动任务填写有误", "en": "The linked task is invalid"},
    "department_unknown": {"zh-CN": "部门不存在", "en": "No such department"},
    "resource_not_found": {"zh-CN": "应急资源不存在", "en": "No such resource"},
}


# --- shapes ----------------------------------------------------------------------------


class PlanOut(BaseModel):
    code: str
    name: dict[str, str]
    kind: str
    region_code: str
    pack: str
    synthetic: bool
    levels: list[str]
    definition: dict[str, Any]


class TaskOut(BaseModel):
    id: uuid.UUID
    level: str
    department: str
    department_name: dict[str, str] = Field(description="the unit's name, zh and en")
    title: dict[str, str]
    report: dict[str, str] | None
    within: str
    due_at: datetime
    overdue: bool
    state: str
    status: str
    instance_id: uuid.UUID | None
    added_by: str | None
    created_at: datetime
    finished_at: datetime | None


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str | None
    task_id: uuid.UUID | None
    data: dict[str, Any]


class RunOut(BaseModel):
    id: uuid.UUID
    plan: str
    name: dict[str, str]
    level: str
    status: str
    drill: bool
    trigger: dict[str, Any]
    region_code: str
    area: dict[str, Any] | None
    summary: str | None
    created_at: datetime
    started_at: datetime | None
    started_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    version: int
    tasks_by_status: dict[str, int]


class RunDetailOut(RunOut):
    tasks: list[TaskOut]
    timeline: list[EventOut]
    resources: list[dict[str, Any]] = Field(description="GeoJSON Features sent to the run")


class StatusIn(BaseModel):
    status: str = Field(pattern=r"^(available|unavailable)$")


class LaunchIn(BaseModel):
    plan: str = Field(min_length=1, max_length=64)
    level: Level
    drill: bool = False
    region: str | None = Field(default=None, pattern=r"^\d{6}(\d{3}){0,3}$")
    area: dict[str, Any] | None = None
    comment: str | None = Field(default=None, max_length=2000)


class ConfirmIn(BaseModel):
    level: Level | None = None


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


class LevelIn(BaseModel):
    level: Level
    reason: str = Field(max_length=2000)


class TaskIn(BaseModel):
    department: str = Field(min_length=1, max_length=64)
    do: str = Field(max_length=300)
    do_en: str | None = Field(default=None, max_length=500)
    within: str = Field(min_length=1, max_length=32, examples=["30 minutes", "2 hours"])


class CloseIn(BaseModel):
    summary: str = Field(max_length=10_000)


class WarningIn(BaseModel):
    type: str = Field(min_length=1, max_length=100, examples=["暴雨红色预警"])
    source: str = Field(min_length=1, max_length=200, examples=["深圳市气象台"])
    region: str = Field(default="440303", pattern=r"^\d{6}(\d{3}){0,3}$")
    issued_at: AwareDatetime | None = None
    area: dict[str, Any] | None = None
    text: str | None = Field(default=None, max_length=5000)


class WarningOut(BaseModel):
    id: uuid.UUID
    type: str
    source: str
    region_code: str
    area: dict[str, Any] | None
    issued_at: datetime
    received_at: datetime
    posted_by: str
    text: str | None
    runs: list[str]


# --- helpers ---------------------------------------------------------------------------


def _plan_out(plan: Plan) -> PlanOut:
    document = PlanDef.model_validate(plan.document)
    return PlanOut(
        code=plan.code,
        name={"zh": plan.name_zh, "en": plan.name_en},
        kind=plan.kind,
        region_code=plan.region_code,
        pack=plan.pack,
        synthetic=document.synthetic,
        levels=list(document.levels),
        definition=plan.document,
    )


def _run_out(run: PlanRun, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": run.id,
        "plan": run.plan_code,
        "name": {"zh": run.name_zh, "en": run.name_en},
        "level": run.level,
        "status": run.status,
        "drill": run.drill,
        "trigger": run.trigger,
        "region_code": run.region_code,
        "area": run.area,
        "summary": run.summary,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "started_by": run.started_by,
        "closed_at": run.closed_at,
        "closed_by": run.closed_by,
        "version": run.row_version,
        "tasks_by_status": counts,
    }


def _task_out(task: PlanTask, now: datetime, names: dict[str, dict[str, str]]) -> TaskOut:
    return TaskOut(
        id=task.id,
        level=task.level,
        department=task.department_code,
        department_name=names.get(task.department_code)
        or {"zh": task.department_code, "en": task.department_code},
        title={"zh": task.title_zh, "en": task.title_en},
        report=(
            {"zh": task.report_zh, "en": task.report_en or task.report_zh}
            if task.report_zh
            else None
        ),
        within=task.within,
        due_at=task.due_at,
        overdue=service.overdue(task, now),
        state=task.state,
        status=task.status,
        instance_id=task.instance_id,
        added_by=task.added_by,
        created_at=task.created_at,
        finished_at=task.finished_at,
    )


def _event_out(event: PlanEvent) -> EventOut:
    return EventOut(
        id=event.id,
        at=event.at,
        kind=event.kind,
        actor=event.actor,
        task_id=event.task_id,
        data=event.data,
    )


def _visible(session: Session, actor: Actor, run_id: uuid.UUID, permission: str) -> PlanRun:
    """The run if ``actor``'s ``permission`` reaches its region; 404 otherwise."""
    stmt = select(PlanRun).where(PlanRun.id == run_id)
    reach = reach_clause(actor, region_column=PlanRun.region_code, permission=permission)
    found = session.scalar(stmt if reach is None else stmt.where(reach))
    if found is None:
        raise service.RunNotFound("no such plan run within your reach")
    return found


def _names(session: Session, codes: set[str]) -> dict[str, dict[str, str]]:
    """Units' names by code: a plan's reader sees who does what, not a code."""
    if not codes:
        return {}
    rows = session.execute(
        select(Department.code, Department.name_zh, Department.name_en).where(
            Department.code.in_(codes)
        )
    )
    return {code: {"zh": zh, "en": en} for code, zh, en in rows}


def _detail(session: Session, run: PlanRun) -> RunDetailOut:
    counts = service.counts_by_status(session, [run])[run.id]
    now = utcnow()
    tasks = service.tasks_of(session, run.id)
    names = _names(session, {t.department_code for t in tasks})
    return RunDetailOut(
        **_run_out(run, counts),
        tasks=[_task_out(t, now, names) for t in tasks],
        timeline=[_event_out(e) for e in service.timeline_of(session, run.id)],
        resources=[resources.feature(r) for r in resources.of_run(session, run.id)],
    )


# --- routes ----------------------------------------------------------------------------


@router.get("", response_model=list[PlanOut])
def list_plans(
    session: DbSession, actor: Annotated[Actor, Depends(require("plans.read"))]
) -> list[PlanOut]:
    """The district's contingency plans, as the profile declares them."""
    plans = session.scalars(select(Plan).where(Plan.active).order_by(Plan.code))
    return [_plan_out(plan) for plan in plans]


@router.get("/runs", response_model=PageOut[RunOut])
def list_runs(
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.read"))],
    page: PageQuery,
    status_filter: Annotated[
        str | None,
        Query(alias="status", pattern=r"^(proposed|active|closed|dismissed|open)$"),
    ] = None,
    drill: bool | None = None,
    plan: Annotated[str | None, Query(max_length=64)] = None,
) -> PageOut[RunOut]:
    """Runs within reach, newest first (``status=open``: proposed and active)."""
    stmt = select(PlanRun)
    reach = reach_clause(actor, region_column=PlanRun.region_code, permission="plans.read")
    if reach is not None:
        stmt = stmt.where(reach)
    if status_filter == "open":
        stmt = stmt.where(PlanRun.status.in_(("proposed", "active")))
    elif status_filter is not None:
        stmt = stmt.where(PlanRun.status == status_filter)
    if drill is not None:
        stmt = stmt.where(PlanRun.drill.is_(drill))
    if plan is not None:
        stmt = stmt.where(PlanRun.plan_code == plan)
    found = paginate(
        session,
        stmt,
        order_by=[PlanRun.created_at.desc(), PlanRun.id.desc()],
        cursor=page.cursor,
        limit=page.limit,
    )
    counts = service.counts_by_status(session, found.items)
    return PageOut(
        items=[RunOut(**_run_out(run, counts[run.id])) for run in found.items],
        next_cursor=found.next_cursor,
    )


@router.post("/runs", response_model=RunDetailOut, status_code=status.HTTP_201_CREATED)
def launch_run(
    body: LaunchIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.run"))],
) -> RunDetailOut:
    """Start a plan by hand (启动预案), at once active; ``drill`` marks an exercise."""
    run = service.launch(
        session,
        plan_code=body.plan,
        actor=actor,
        level=body.level,
        drill=body.drill,
        region_code=body.region,
        area=body.area,
        comment=body.comment,
    )
    return _detail(session, run)


@router.get("/runs/{run_id}", response_model=RunDetailOut)
def get_run(
    run_id: uuid.UUID,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.read"))],
) -> RunDetailOut:
    """The command view: the run, every linked task with its state and deadline, and the
    timeline of all that happened."""
    return _detail(session, _visible(session, actor, run_id, "plans.read"))


@router.post("/runs/{run_id}/confirm", response_model=RunDetailOut)
def confirm_run(
    run_id: uuid.UUID,
    body: ConfirmIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.run"))],
) -> RunDetailOut:
    """Confirm a proposed run (optionally at another level): its tasks go out."""
    run = _visible(session, actor, run_id, "plans.run")
    return _detail(session, service.confirm(session, run_id=run.id, actor=actor, level=body.level))


@router.post("/runs/{run_id}/dismiss", response_model=RunDetailOut)
def dismiss_run(
    run_id: uuid.UUID,
    body: ReasonIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.run"))],
) -> RunDetailOut:
    """Dismiss a proposed run, with the reason."""
    run = _visible(session, actor, run_id, "plans.run")
    return _detail(
        session, service.dismiss(session, run_id=run.id, actor=actor, reason=body.reason)
    )


@router.post("/runs/{run_id}/level", response_model=RunDetailOut)
def change_level(
    run_id: uuid.UUID,
    body: LevelIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.run"))],
) -> RunDetailOut:
    """Raise or lower an active run's level (raising sends the new level's tasks)."""
    run = _visible(session, actor, run_id, "plans.run")
    changed = service.change_level(
        session, run_id=run.id, actor=actor, level=body.level, reason=body.reason
    )
    return _detail(session, changed)


@router.post("/runs/{run_id}/tasks", response_model=RunDetailOut)
def add_task(
    run_id: uuid.UUID,
    body: TaskIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.run"))],
) -> RunDetailOut:
    """Send a task the plan did not foresee to a unit."""
    run = _visible(session, actor, run_id, "plans.run")
    service.add_task(
        session,
        run_id=run.id,
        actor=actor,
        department=body.department,
        do=body.do,
        do_en=body.do_en,
        within=body.within,
    )
    return _detail(session, run)


@router.post("/runs/{run_id}/close", response_model=RunDetailOut)
def close_run(
    run_id: uuid.UUID,
    body: CloseIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.run"))],
) -> RunDetailOut:
    """Close an active run with its summary; open tasks are cancelled."""
    run = _visible(session, actor, run_id, "plans.run")
    return _detail(
        session, service.close(session, run_id=run.id, actor=actor, summary=body.summary)
    )


@router.get("/warnings", response_model=PageOut[WarningOut])
def list_warnings(
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.read"))],
    page: PageQuery,
) -> PageOut[WarningOut]:
    """External warnings received, newest first."""
    stmt = select(ExternalWarning)
    reach = reach_clause(actor, region_column=ExternalWarning.region_code, permission="plans.read")
    if reach is not None:
        stmt = stmt.where(reach)
    found = paginate(
        session,
        stmt,
        order_by=[ExternalWarning.received_at.desc(), ExternalWarning.id.desc()],
        cursor=page.cursor,
        limit=page.limit,
    )
    return PageOut(
        items=[WarningOut.model_validate(w, from_attributes=True) for w in found.items],
        next_cursor=found.next_cursor,
    )


@router.post("/warnings", response_model=WarningOut, status_code=status.HTTP_201_CREATED)
def post_warning(
    body: WarningIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.warnings.post"))],
) -> WarningOut:
    """An external warning (暴雨红色预警 …): stored, and the plans that start on it are
    proposed, started or raised."""
    warning, _ = triggers.post_warning(
        session,
        actor=actor,
        type=body.type,
        source=body.source,
        region_code=body.region,
        issued_at=body.issued_at,
        area=body.area,
        text=body.text,
    )
    return WarningOut.model_validate(warning, from_attributes=True)


@router.get("/resources")
def list_resources(
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.read"))],
    type: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(pattern=r"^(team|vehicle|material|shelter)$")] = None,
    status_filter: Annotated[
        str | None, Query(alias="status", pattern=r"^(available|dispatched|unavailable)$")
    ] = None,
) -> dict[str, Any]:
    """Teams, vehicles, materials and shelters as a GeoJSON FeatureCollection, for the map."""
    found = resources.listed(session, type=type, kind=kind, status=status_filter)
    return {"type": "FeatureCollection", "features": [resources.feature(r) for r in found]}


@router.get("/resources/nearest")
def nearest_resources(
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.read"))],
    type: Annotated[str, Query(min_length=1, max_length=64)],
    lon: Annotated[float, Query(ge=73, le=136)],
    lat: Annotated[float, Query(ge=3, le=54)],
    count: Annotated[int, Query(ge=1, le=50)] = 5,
    available: bool = True,
) -> dict[str, Any]:
    """The nearest resources of ``type`` to a point by travel distance, nearest first; each
    says how it was measured: ``road`` along the profile's roads, ``straight_line`` where
    there is no road graph (or no road between)."""
    found = resources.nearest(
        session, type=type, origin=(lon, lat), count=count, available_only=available
    )
    return {"type": "FeatureCollection", "features": [resources.feature(r, t) for r, t in found]}


@router.post("/resources/{code}/status")
def set_resource_status(
    code: str,
    body: StatusIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.run"))],
) -> dict[str, Any]:
    """Mark a resource available or unavailable (dispatching is done by runs)."""
    return resources.feature(
        resources.set_status(session, code=code, status=body.status, actor=actor)
    )


@router.get("/{code}", response_model=PlanOut)
def get_plan(
    code: str,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("plans.read"))],
) -> PlanOut:
    """One plan with its triggers, levels and tasks."""
    return _plan_out(service.get_plan(session, code))
