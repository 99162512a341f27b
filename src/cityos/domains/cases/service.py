"""Cases: intake from every channel, the case number, the place, and the case loop run
through the workflow engine (the ``case`` workflow of the profile's cases pack).

The case row mirrors what people search and count by (status, category, units, times);
the workflow instance holds who may act and the history. Every action on a case goes
through ``act`` here, which keeps the two in step in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cityos.domains.cases.models import Case, CaseCategory, CaseNumber, Channel, RequestType
from cityos.domains.cases.routing import route, suggest_category
from cityos.foundation.identity.authz import Actor
from cityos.foundation.identity.models import Department
from cityos.foundation.privacy import blind_index, normalise_mobile, normalise_person_name
from cityos.foundation.workflow import (
    SYSTEM_ACTOR,
    Assignment,
    Step,
    SubjectHooks,
    WorkflowInstance,
    register_assignment_rule,
    register_subject,
)
from cityos.foundation.workflow import act as workflow_act
from cityos.foundation.workflow import start as workflow_start
from cityos.kernel.bus import emit
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import Conflict, NotFound, ValidationFailed
from cityos.kernel.files import checked_attachments

WORKFLOW = "case"
# Satisfaction at or below this (1 非常不满意, 2 不满意) reopens a case once.
DISSATISFIED = 2
# The operator's callback and the reporter's own rating close a case the same way.
RATINGS = frozenset({"call_back", "rate"})
# 督办 and 催办: a case supervised is no longer on time, whatever its steps were.
SUPERVISION = frozenset({"supervise", "urge"})
PREFIX = "LH"
SHANGHAI = ZoneInfo("Asia/Shanghai")
OUTSIDE = "位置不在罗湖区内，转市平台处理 / outside the district: for referral"


@dataclass(frozen=True)
class Intake:
    """What a channel knows about a new case."""

    channel: Channel
    description: str
    request_type: RequestType = RequestType.COMPLAINT
    title: str | None = None
    category_code: str | None = None
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    source_ref: str | None = None
    synthetic: bool = False
    attachments: tuple[dict[str, Any], ...] = ()


def next_number(session: Session, *, at: datetime | None = None) -> str:
    """The next case number of the day (Asia/Shanghai): ``LH20261201000123``.

    One atomic upsert per number, so concurrent intakes never share one.
    """
    day = (at or utcnow()).astimezone(SHANGHAI).strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(CaseNumber)
        .values(day=day, last=1, updated_at=utcnow())
        .on_conflict_do_update(
            index_elements=[CaseNumber.day],
            set_={"last": CaseNumber.last + 1, "updated_at": utcnow()},
        )
        .returning(CaseNumber.last)
    )
    last = int(session.execute(stmt).scalar_one())
    return f"{PREFIX}{day}{last:06d}"


def _place(session: Session, intake: Intake) -> dict[str, Any]:
    """Grid, community and subdistrict of the reported point (or address)."""
    from cityos.foundation.geo import locate

    lon, lat = intake.lon, intake.lat
    if (lon is None or lat is None) and intake.address:
        found = _geocode(session, intake.address)
        if found is not None:
            lon, lat = found
    if lon is None or lat is None:
        return {"lon": None, "lat": None, "outside_reason": None}
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationFailed(
            "the location is not a WGS84 longitude and latitude",
            code="location_invalid",
            errors=[{"field": "lon", "message": "out of range", "type": "range"}],
        )
    chain = locate(session, lon=lon, lat=lat)
    if chain is None:
        return {"lon": lon, "lat": lat, "outside_reason": OUTSIDE}
    return {
        "lon": lon,
        "lat": lat,
        "region_code": chain.deepest.code,
        "community_code": chain.community.code if chain.community else None,
        "subdistrict_code": chain.subdistrict.code if chain.subdistrict else None,
        "outside_reason": None,
    }


def _geocode(session: Session, address: str) -> tuple[float, float] | None:
    """The point of a matched standard address; an unsure match places nothing."""
    from cityos.foundation.geo.gazetteer import gazetteer

    return gazetteer(session).geocode(address).point


def _category(session: Session, code: str | None, field: str) -> CaseCategory | None:
    if code is None:
        return None
    found = session.get(CaseCategory, code)
    if found is None or not found.active:
        raise ValidationFailed(
            f"no case category {code!r}",
            code="category_unknown",
            errors=[{"field": field, "message": "unknown category", "type": "unknown"}],
        )
    return found


def _limits(category: CaseCategory | None) -> dict[str, Any]:
    if category is None:
        return {}
    return {"category": {"sign": category.sign_limit, "handle": category.handle_limit}}


def _suggest(session: Session, text: str) -> str | None:
    ranked = suggest_category(session, text)
    return ranked[0][0] if ranked else None


def create_case(session: Session, *, actor: Actor | None, intake: Intake) -> Case:
    """Take in a case from any channel: numbered, placed, categorised or given a
    suggestion, its workflow started (waiting for a dispatcher to register it)."""
    text = intake.description.strip()
    if not text:
        raise ValidationFailed(
            "describe the problem",
            code="description_required",
            errors=[{"field": "description", "message": "required", "type": "missing"}],
        )
    category = _category(session, intake.category_code, "category_code")
    name = phone = None
    try:
        name = normalise_person_name(intake.reporter_name) if intake.reporter_name else None
    except ValueError:
        raise ValidationFailed(
            "the reporter's name is not a name",
            code="reporter_name_invalid",
            errors=[{"field": "reporter_name", "message": "not a name", "type": "name"}],
        ) from None
    try:
        phone = normalise_mobile(intake.reporter_phone) if intake.reporter_phone else None
    except ValueError:
        raise ValidationFailed(
            "the reporter's phone is not a mainland mobile number",
            code="reporter_phone_invalid",
            errors=[{"field": "reporter_phone", "message": "not a mobile", "type": "mobile"}],
        ) from None
    if intake.source_ref is not None:
        existing = session.scalar(
            select(Case).where(Case.channel == intake.channel, Case.source_ref == intake.source_ref)
        )
        if existing is not None:
            # At-least-once senders (IoT, the city platform) may send twice: same case.
            return existing
    stored = checked_attachments(session, intake.attachments)
    place = _place(session, intake)
    case = Case(
        number=next_number(session),
        channel=intake.channel,
        source_ref=intake.source_ref,
        request_type=intake.request_type,
        category_code=category.code if category else None,
        suggested_category_code=None if category else _suggest(session, text),
        title=(intake.title or text)[:60],
        description=text,
        address=intake.address,
        reporter_user_id=actor.user_id if actor and actor.kind == "citizen" else None,
        reporter_name=name,
        reporter_phone=phone,
        reporter_phone_bidx=blind_index("mobile", phone) if phone else None,
        status="accepted",
        synthetic=intake.synthetic,
        **place,
    )
    session.add(case)
    session.flush()
    instance = workflow_start(
        session,
        workflow_id=WORKFLOW,
        subject_type="case",
        subject_id=str(case.id),
        actor=actor,
        title=f"{case.number} {case.title}",
        region_code=case.region_code or "440303",
        owner_user_id=case.reporter_user_id,
        assignment=Assignment(role="dispatcher"),
        parameters=_limits(category),
        data={"channel": str(intake.channel)},
        attachments=stored,
    )
    case.workflow_instance_id = instance.id
    case.status = instance.state
    case.due_at = instance.due_at
    session.flush()
    emit(session, type="case.created", key=str(case.id), payload=_payload(case))
    who = actor.username if actor else f"channel:{case.channel}"
    _audit(session, who, case, "case.create", {"channel": str(case.channel)})
    return case


def _audit(session: Session, who: str, case: Case, action: str, details: dict[str, Any]) -> None:
    """Every change to a case in the audit trail (ids and codes only, never the reporter)."""
    from cityos.foundation.audit import record

    record(
        session,
        actor=who,
        action=action,
        target_type="case",
        target_id=str(case.id),
        outcome="success",
        details={"number": case.number, "status": case.status, **details},
    )


def _payload(case: Case) -> dict[str, Any]:
    return {
        "case_id": str(case.id),
        "number": case.number,
        "status": case.status,
        "category_code": case.category_code,
        "region_code": case.region_code,
        "channel": str(case.channel),
    }


def get_case(session: Session, case_id: uuid.UUID) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case", code="case_not_found")
    return case


def act(
    session: Session,
    *,
    case_id: uuid.UUID,
    action: str,
    actor: Actor,
    expected_version: int | None = None,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> Case:
    """Take a case-loop action; the case row follows the workflow in the same transaction
    (through the ``case`` subject hooks, as it does for the inbox and timers)."""
    case = get_case(session, case_id)
    if case.workflow_instance_id is None:
        raise Conflict("this case has no running workflow", code="no_workflow")
    workflow_act(
        session,
        instance_id=case.workflow_instance_id,
        action=action,
        actor=actor,
        expected_version=expected_version,
        comment=comment,
        data=data,
        attachments=attachments or [],
    )
    return case


def _case_of(session: Session, instance: WorkflowInstance) -> Case:
    case = session.get(Case, uuid.UUID(instance.subject_id))
    if case is None:
        raise NotFound("no such case", code="case_not_found")
    return case


def _prepare_step(session: Session, instance: WorkflowInstance, step: Step) -> None:
    """What a case adds to a step before the engine's checks: the registered category and
    its time limits, the routed unit, the rating's consequence, the master case, and
    attachments that name stored files."""
    case = _case_of(session, instance)
    values = step.data
    if step.action == "register":
        chosen = _category(
            session,
            values.get("category") or case.category_code or case.suggested_category_code,
            "data.category",
        )
        if chosen is None:
            raise ValidationFailed(
                "registering needs a category",
                code="category_required",
                errors=[{"field": "data.category", "message": "required", "type": "missing"}],
            )
        values["category"] = chosen.code
        case.category_code = chosen.code
        step.parameters.update(_limits(chosen))
    if step.action == "dispatch" and not values.get("department"):
        routed = _routed(session, case)
        if routed is not None:
            values["department"], values["assist"] = routed
    if step.action in RATINGS:
        _satisfaction(values)
        if int(values["satisfaction"]) <= DISSATISFIED and case.reopened == 0:
            # 不满意 reopens the case once, to the unit that handled it.
            step.action = "reopen"
    if step.action == "merge":
        values["master"] = str(_master(session, case, values.get("master")).id)
    step.attachments = checked_attachments(session, step.attachments)


def _follow_step(
    session: Session, instance: WorkflowInstance, step: Step, actor: Actor | None
) -> None:
    """The case mirrors the step, tells the bus and the audit trail."""
    case = _case_of(session, instance)
    on_time = step.due_before is None or utcnow() <= step.due_before
    _follow(session, case, instance, step.action, step.data, on_time=on_time)
    emit(session, type=f"case.{step.action}", key=str(case.id), payload=_payload(case))
    who = actor.username if actor else SYSTEM_ACTOR
    _audit(session, who, case, f"case.{step.action}", {"category": case.category_code})


def _master(session: Session, case: Case, master: object) -> Case:
    """The case a duplicate is merged into: another, open, not itself merged."""
    fault = None
    found = None
    try:
        found = session.get(Case, uuid.UUID(str(master)))
    except ValueError:
        fault = "not a case id"
    if fault is None and (found is None or found.id == case.id):
        fault = "no such other case"
    elif found is not None and (found.master_case_id is not None or found.closed_at):
        fault = "the master case is closed or itself merged"
    if fault is not None or found is None:
        raise ValidationFailed(
            f"merge needs an open master case: {fault}",
            code="merge_master_invalid",
            errors=[{"field": "data.master", "message": fault or "", "type": "invalid"}],
        )
    return found


def duplicates_of(session: Session, master_id: uuid.UUID) -> list[Case]:
    """The cases merged into ``master_id``."""
    return list(session.scalars(select(Case).where(Case.master_case_id == master_id)))


def _satisfaction(values: dict[str, Any]) -> None:
    level = values.get("satisfaction")
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
        raise ValidationFailed(
            "satisfaction is 1 (very dissatisfied) to 5 (very satisfied)",
            code="satisfaction_invalid",
            errors=[{"field": "data.satisfaction", "message": "1 to 5", "type": "range"}],
        )


def _routed(session: Session, case: Case) -> tuple[str, list[str]] | None:
    if case.category_code is None:
        return None
    found = route(session, category_code=case.category_code, region_code=case.region_code or "")
    if found is None:
        return None
    return found.lead_department_code, list(found.assist_department_codes)


def _follow(
    session: Session,
    case: Case,
    instance: WorkflowInstance,
    action: str,
    values: dict[str, Any],
    *,
    on_time: bool,
) -> None:
    """Mirror the step on the case: status, times, and what evaluation counts."""
    now = utcnow()
    case.status = instance.state
    case.due_at = instance.due_at
    if action == "register":
        case.registered_at = now
    if action == "sign":
        case.signed_at = now
        case.signed_on_time = on_time if case.signed_on_time is None else case.signed_on_time
    if action == "resolve":
        case.resolved_at = now
        first = case.handled_on_time is None
        case.handled_on_time = on_time if first else case.handled_on_time and on_time
        if case.dispatched_at is not None:
            case.handling_seconds = int((now - case.dispatched_at).total_seconds())
    if action == "return":
        case.returned_count += 1
    if action == "request_extension":
        case.extension_count += 1
    if action == "verify_fail":
        case.rework_count += 1
    if action == "dispatch":
        case.dispatched_at = now
        case.lead_department_id = instance.department_id
        codes = [str(c) for c in values.get("assist") or []]
        case.assist_department_ids = [
            str(i) for i in session.scalars(select(Department.id).where(Department.code.in_(codes)))
        ]
    if action in RATINGS:
        case.satisfaction = int(values["satisfaction"])
    if action in SUPERVISION:
        case.supervised_count += 1
    if action == "reopen":
        case.reopened += 1
        case.rework_count += 1
    if action == "merge":
        case.master_case_id = uuid.UUID(str(values["master"]))
    if instance.closed_at is not None:
        case.closed_at = instance.closed_at
        case.closed_on_time = bool(
            case.signed_on_time is not False
            and case.handled_on_time is not False
            and case.supervised_count == 0
        )
        if case.status == "closed":
            _close_duplicates(session, case)
    session.flush()


def _close_duplicates(session: Session, master: Case) -> None:
    """Duplicates share their master's outcome, and each reporter is told (by event)."""
    for duplicate in duplicates_of(session, master.id):
        duplicate.closed_at = master.closed_at
        emit(
            session,
            type="case.duplicate_closed",
            key=str(duplicate.id),
            payload={
                "case_id": str(duplicate.id),
                "number": duplicate.number,
                "master_id": str(master.id),
                "master_number": master.number,
                "reporter_user_id": str(duplicate.reporter_user_id)
                if duplicate.reporter_user_id
                else None,
            },
        )


def _route_rule(session: Session, instance: WorkflowInstance, data: Any) -> Assignment:
    """``assign: {rule: routing}``: the lead unit the routing table names for the case."""
    case = session.scalar(select(Case).where(Case.workflow_instance_id == instance.id))
    routed = _routed(session, case) if case is not None else None
    if routed is None:
        raise ValidationFailed(
            "no routing rule matches this case; name the department", code="no_routing_rule"
        )
    department = session.scalar(select(Department.id).where(Department.code == routed[0]))
    return Assignment(role="handler", department_id=department)


register_assignment_rule("routing", _route_rule)
register_subject("case", SubjectHooks(prepare=_prepare_step, follow=_follow_step))


def mark_synthetic(session: Session, case_ids: list[uuid.UUID]) -> None:
    """Flag demo cases as synthetic (the demo history generator uses it)."""
    session.execute(update(Case).where(Case.id.in_(case_ids)).values(synthetic=True))


def report_from_alarm(
    session: Session,
    *,
    alarm_id: str,
    category_code: str,
    description: str,
    lon: float | None,
    lat: float | None,
    address: str | None = None,
) -> Case:
    """The intake an IoT alarm calls (the IoT issue's rule engine): one case per alarm,
    however often the alarm is sent, waiting for a dispatcher like any other."""
    return create_case(
        session,
        actor=None,
        intake=Intake(
            channel=Channel.IOT,
            request_type=RequestType.REPORT,
            description=description,
            category_code=category_code,
            lon=lon,
            lat=lat,
            address=address,
            source_ref=f"alarm:{alarm_id}",
        ),
    )
