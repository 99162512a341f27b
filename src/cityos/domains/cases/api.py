"""``/api/v1/cases``: take in a case, list and read cases within one's reach, act on one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from cityos.domains.cases.models import Case, CaseCategory, Channel, RequestType
from cityos.domains.cases.service import Intake, act, create_case
from cityos.foundation.audit import record
from cityos.foundation.identity.authz import Actor, reach_clause, require
from cityos.foundation.identity.models import Department, UserKind
from cityos.foundation.privacy import PiiKind, mask, reveal
from cityos.foundation.workflow import (
    WorkflowDef,
    WorkflowInstance,
    available_actions,
    definition_of,
    history,
)
from cityos.foundation.workflow.inbox import Colour, colour, waiting_for
from cityos.kernel.errors import NotFound, PermissionDenied
from cityos.kernel.http import DbSession
from cityos.kernel.pagination import PageOut, PageQuery, paginate

router = APIRouter(prefix="/cases", tags=["cases 城市事件"])

PERMISSIONS: dict[str, dict[str, str]] = {
    "cases.create": {"zh": "登记事件", "en": "Report or take in cases"},
    "cases.read": {"zh": "查看事件", "en": "Read cases"},
    "cases.act": {"zh": "办理事件", "en": "Act on cases"},
    "cases.reveal": {
        "zh": "查看报告人完整联系方式（留痕）",
        "en": "Reveal a reporter's contact details (audited)",
    },
}


class RevealIn(BaseModel):
    field: Literal["reporter_phone", "reporter_name"]
    purpose: str = Field(min_length=2, max_length=200, description="why, recorded in the audit")


class RevealOut(BaseModel):
    field: str
    value: str | None


# Channels a person may use for themselves; staff may also record others'.
_CITIZEN_CHANNELS = {Channel.PORTAL}


class CaseIn(BaseModel):
    channel: Channel = Channel.HOTLINE
    request_type: RequestType = RequestType.COMPLAINT
    description: str = Field(min_length=1, max_length=4000)
    title: str | None = Field(default=None, max_length=60)
    category_code: str | None = Field(default=None, max_length=16)
    address: str | None = Field(default=None, max_length=300)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    reporter_name: str | None = Field(default=None, max_length=50)
    reporter_phone: str | None = Field(default=None, max_length=20)
    source_ref: str | None = Field(default=None, max_length=100)
    attachments: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=9,
        description="[{kind: photo_before|photo, sha256}] of files uploaded to /api/v1/files",
    )


class ActionIn(BaseModel):
    expected_version: int | None = None
    comment: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)
    attachments: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


class StepOut(BaseModel):
    seq: int
    action: str
    from_state: str | None
    to_state: str
    actor: str
    comment: str | None
    occurred_at: datetime
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, description="[{kind, sha256, content_type, size, filename}]"
    )


class CaseOut(BaseModel):
    id: uuid.UUID
    number: str
    channel: Channel
    request_type: RequestType
    category_code: str | None
    category_name_zh: str | None
    category_name_en: str | None
    suggested_category_code: str | None
    title: str
    description: str
    address: str | None
    lon: float | None
    lat: float | None
    region_code: str | None
    community_code: str | None
    subdistrict_code: str | None
    outside_reason: str | None
    status: str
    status_name_zh: str
    status_name_en: str
    colour: Colour
    due_at: datetime | None
    created_at: datetime
    registered_at: datetime | None
    dispatched_at: datetime | None
    closed_at: datetime | None
    lead_department_code: str | None
    satisfaction: int | None
    reporter_name: str | None = Field(description="masked")
    reporter_phone: str | None = Field(description="masked")
    synthetic: bool
    version: int | None
    actions: list[str]
    history: list[StepOut] | None = None


def _reach(stmt: Select[Any], actor: Actor) -> Select[Any]:
    """Cases the actor may read: within their jurisdiction (and of their unit, for a
    unit-bound grant), their own reports, and any case whose task waits for them now
    (a grid inspector verifying a bureau's work)."""
    reach = reach_clause(
        actor,
        region_column=Case.region_code,
        department_column=Case.lead_department_id,
        owner_column=Case.reporter_user_id,
        permission="cases.read",
        department_optional=True,
    )
    if reach is None:
        return stmt  # a district-wide reader: no condition, so the filters' indexes serve
    # Open tasks waiting for the reader are few (an index on closed_at finds them).
    waiting = select(WorkflowInstance.id).where(waiting_for(actor))
    return stmt.where(or_(reach, Case.workflow_instance_id.in_(waiting)))


def _in_region(code: str) -> Any:
    """A region filter each level's own column (and index) can answer."""
    if len(code) == 9:
        return Case.subdistrict_code == code
    if len(code) == 12:
        return Case.community_code == code
    if len(code) == 15:
        return Case.region_code == code
    return Case.region_code.startswith(code)


def _visible(session: Session, actor: Actor, case_id: uuid.UUID) -> Case:
    found: Case | None = session.scalar(_reach(select(Case).where(Case.id == case_id), actor))
    if found is None:
        raise NotFound("no such case within your reach", code="case_not_found")
    return found


def _warm(session: Session, cases: list[Case]) -> None:
    """Load a page's instances, categories and units in three queries: ``session.get``
    below then finds them in the session instead of asking once per case."""
    for model, key, values in (
        (WorkflowInstance, WorkflowInstance.id, {c.workflow_instance_id for c in cases}),
        (CaseCategory, CaseCategory.code, {c.category_code for c in cases}),
        (Department, Department.id, {c.lead_department_id for c in cases}),
    ):
        wanted = [v for v in values if v is not None]
        if wanted:
            session.scalars(select(model).where(key.in_(wanted))).all()


def _out(
    session: Session,
    actor: Actor,
    case: Case,
    *,
    detail: bool = False,
    definitions: dict[tuple[str, int], WorkflowDef] | None = None,
) -> CaseOut:
    instance = (
        session.get(WorkflowInstance, case.workflow_instance_id)
        if case.workflow_instance_id
        else None
    )
    state_zh = state_en = case.status
    actions: list[str] = []
    if instance is not None:
        which = (instance.workflow_id, instance.version)
        known = definitions if definitions is not None else {}
        if which not in known:
            known[which] = definition_of(session, *which)
        definition = known[which]
        named = definition.states[instance.state].name
        if named is not None:
            state_zh, state_en = named.zh, named.en
        actions = available_actions(definition, instance, actor)
    category = session.get(CaseCategory, case.category_code) if case.category_code else None
    lead = session.get(Department, case.lead_department_id) if case.lead_department_id else None
    steps = None
    if detail and instance is not None:
        steps = [
            StepOut(
                seq=e.seq,
                action=e.action,
                from_state=e.from_state,
                to_state=e.to_state,
                actor=e.actor,
                comment=e.comment,
                occurred_at=e.occurred_at,
                attachments=[dict(a) for a in e.attachments],
            )
            for e in history(session, instance.id)
        ]
    return CaseOut(
        id=case.id,
        number=case.number,
        channel=case.channel,
        request_type=case.request_type,
        category_code=case.category_code,
        category_name_zh=category.name_zh if category else None,
        category_name_en=category.name_en if category else None,
        suggested_category_code=case.suggested_category_code,
        title=case.title,
        description=case.description,
        address=case.address,
        lon=case.lon,
        lat=case.lat,
        region_code=case.region_code,
        community_code=case.community_code,
        subdistrict_code=case.subdistrict_code,
        outside_reason=case.outside_reason,
        status=case.status,
        status_name_zh=state_zh,
        status_name_en=state_en,
        colour=colour(instance) if instance is not None else Colour.NONE,
        due_at=case.due_at,
        created_at=case.created_at,
        registered_at=case.registered_at,
        dispatched_at=case.dispatched_at,
        closed_at=case.closed_at,
        lead_department_code=lead.code if lead else None,
        satisfaction=case.satisfaction,
        reporter_name=mask("name", case.reporter_name) if case.reporter_name else None,
        reporter_phone=mask("mobile", case.reporter_phone) if case.reporter_phone else None,
        synthetic=case.synthetic,
        version=instance.row_version if instance is not None else None,
        actions=actions,
        history=steps,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseOut)
def report(
    body: CaseIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("cases.create"))],
) -> CaseOut:
    """Take in a case: numbered, placed on the grid, categorised or given a suggestion."""
    citizen = actor.kind in (UserKind.CITIZEN, UserKind.ENTERPRISE)
    if citizen and body.channel not in _CITIZEN_CHANNELS:
        raise PermissionDenied(
            "citizens report through the portal channel", code="citizen_channel_only"
        )
    intake = Intake(
        channel=body.channel,
        request_type=body.request_type,
        description=body.description,
        title=body.title,
        category_code=body.category_code,
        address=body.address,
        lon=body.lon,
        lat=body.lat,
        reporter_name=None if citizen else body.reporter_name,
        reporter_phone=None if citizen else body.reporter_phone,
        source_ref=body.source_ref,
        attachments=tuple(body.attachments),
    )
    case = create_case(session, actor=actor, intake=intake)
    return _out(session, actor, case, detail=True)


class CategoryOut(BaseModel):
    code: str
    kind: str
    major_code: str
    major_name_zh: str
    major_name_en: str
    name_zh: str
    name_en: str
    sign_limit: str
    handle_limit: str
    department_code: str
    evidence: list[str]


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(
    session: DbSession,
    actor: Annotated[Actor, Depends(require("cases.create"))],
    kind: Annotated[str | None, Query(pattern="^(component|event)$")] = None,
) -> list[CategoryOut]:
    """The active minor classes (GB/T 30428 部件/事件), for pickers and intake forms."""
    stmt = select(CaseCategory).where(CaseCategory.active.is_(True))
    if kind:
        stmt = stmt.where(CaseCategory.kind == kind)
    return [
        CategoryOut(
            code=c.code,
            kind=str(c.kind),
            major_code=c.major_code,
            major_name_zh=c.major_name_zh,
            major_name_en=c.major_name_en,
            name_zh=c.name_zh,
            name_en=c.name_en,
            sign_limit=c.sign_limit,
            handle_limit=c.handle_limit,
            department_code=c.department_code,
            evidence=[str(e) for e in c.evidence],
        )
        for c in session.scalars(stmt.order_by(CaseCategory.code))
    ]


@router.get("", response_model=PageOut[CaseOut])
def list_cases(
    session: DbSession,
    page: PageQuery,
    actor: Annotated[Actor, Depends(require("cases.read"))],
    status_filter: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=16)] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6,15}$")] = None,
    channel: Channel | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> PageOut[CaseOut]:
    """Cases within your reach, newest first, filtered."""
    stmt = _reach(select(Case), actor)
    if status_filter:
        stmt = stmt.where(Case.status == status_filter)
    if category:
        stmt = stmt.where(Case.category_code.startswith(category.rstrip("*")))
    if region:
        stmt = stmt.where(_in_region(region))
    if channel:
        stmt = stmt.where(Case.channel == channel)
    if since:
        stmt = stmt.where(Case.created_at >= since)
    if until:
        stmt = stmt.where(Case.created_at < until)
    if q:
        stmt = stmt.where(
            Case.title.contains(q, autoescape=True) | Case.number.startswith(q, autoescape=True)
        )
    found = paginate(
        session,
        stmt,
        order_by=[Case.created_at.desc(), Case.id.desc()],
        cursor=page.cursor,
        limit=page.limit,
    )
    _warm(session, found.items)
    definitions: dict[tuple[str, int], WorkflowDef] = {}
    return PageOut(
        items=[_out(session, actor, c, definitions=definitions) for c in found.items],
        next_cursor=found.next_cursor,
    )


@router.get("/{case_id}", response_model=CaseOut)
def read_case(
    case_id: uuid.UUID,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("cases.read"))],
) -> CaseOut:
    """One case with its history and the actions you may take."""
    return _out(session, actor, _visible(session, actor, case_id), detail=True)


@router.post("/{case_id}/reveal", response_model=RevealOut)
def reveal_reporter(
    case_id: uuid.UUID,
    body: RevealIn,
    request: Request,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("cases.reveal"))],
) -> RevealOut:
    """A reporter's name or phone in full, for calling them back: recorded in the audit
    trail with who asked and why before it is shown."""
    case = _visible(session, actor, case_id)
    value = getattr(case, body.field)
    if value is None:
        return RevealOut(field=body.field, value=None)

    def record_reveal(
        *, actor: str, kind: PiiKind, field: str, record_id: str, purpose: str
    ) -> None:
        record(
            session,
            actor=actor,
            action="pii.reveal",
            target_type="case",
            target_id=record_id,
            outcome="success",
            details={"field": field, "kind": str(kind)},
            purpose=purpose,
            ip=request.client.host if request.client else None,
            request_id=getattr(request.state, "request_id", None),
        )

    kind = PiiKind.MOBILE if body.field == "reporter_phone" else PiiKind.NAME
    shown = reveal(
        value,
        kind,
        actor=actor.username,
        field=body.field,
        record_id=str(case.id),
        purpose=body.purpose,
        on_reveal=record_reveal,
    )
    return RevealOut(field=body.field, value=shown)


@router.post("/{case_id}/actions/{action}", response_model=CaseOut)
def take_action(
    case_id: uuid.UUID,
    action: str,
    body: ActionIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("cases.act"))],
) -> CaseOut:
    """Take a step of the case loop: 409 lists the steps allowed now, 403 yours, 422
    names what is missing."""
    case = act(
        session,
        case_id=_visible(session, actor, case_id).id,
        action=action,
        actor=actor,
        expected_version=body.expected_version,
        comment=body.comment,
        data=body.data,
        attachments=body.attachments,
    )
    return _out(session, actor, case, detail=True)
