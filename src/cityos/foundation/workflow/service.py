"""Running workflows: start an instance, take an action, see who may do what.

Every transition checks, in this order: the action exists and may be taken from the
current state (409 listing the actions that may), the actor holds one of its roles
through a grant that reaches the instance (403 listing the actor's actions), the
assignee rule, the required fields, attachments and comment (422 naming each), and the
version the caller saw (409 when someone acted first). The history row and the state
change are one write; the unique ``(instance, seq)`` and the row version mean two people
acting at once cannot both succeed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cityos.foundation.identity.authz import Actor, reaches
from cityos.foundation.workflow.definition import (
    ActionDef,
    DefinitionError,
    Duration,
    WorkflowDef,
    is_parameter,
)
from cityos.foundation.workflow.models import WorkflowDefinition, WorkflowEvent, WorkflowInstance
from cityos.kernel.bus import emit
from cityos.kernel.calendar import WorkingCalendar
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from cityos.kernel.jobs import schedule
from cityos.kernel.system import district_calendar

SYSTEM_ACTOR = "system"
TIMER_JOB = "workflow.timer"


@dataclass(frozen=True)
class Assignment:
    """Who the next state waits for, as an owning module's rule decides it."""

    role: str | None = None
    user_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None


# Rules a module registers for ``assign: {rule: NAME}`` (e.g. cases' routing table).
AssignmentRule = Callable[[Session, WorkflowInstance, Mapping[str, Any]], Assignment]
_rules: dict[str, AssignmentRule] = {}


@dataclass
class Step:
    """One action on its way through ``act``: what the subject's module may reshape before
    the checks (the action itself, e.g. a dissatisfied rating that becomes ``reopen``; its
    data; checked attachments; parameters for the next state's limits) and read after."""

    action: str
    data: dict[str, Any]
    attachments: list[dict[str, Any]]
    parameters: dict[str, Any]
    # The deadline of the state being left, as it stood before the step.
    due_before: datetime | None


@dataclass(frozen=True)
class SubjectHooks:
    """What the module owning a kind of subject does on each of its instances' steps, in
    the step's transaction, whichever door the step came through (its own API, the inbox,
    a bulk action or a timer): ``prepare`` before the checks, ``follow`` after the
    transition (``actor`` is None for the system)."""

    prepare: Callable[[Session, WorkflowInstance, Step], None] | None = None
    follow: Callable[[Session, WorkflowInstance, Step, Actor | None], None] | None = None


_subjects: dict[str, SubjectHooks] = {}


def register_subject(subject_type: str, hooks: SubjectHooks) -> None:
    """Declare the hooks of a subject type (one owner per type)."""
    if _subjects.get(subject_type, hooks) is not hooks:
        raise ValueError(f"subject type {subject_type!r} already has hooks")
    _subjects[subject_type] = hooks


def register_assignment_rule(name: str, rule: AssignmentRule) -> None:
    """Make ``rule`` what ``assign: {rule: name}`` calls."""
    _rules[name] = rule


# --- definitions -------------------------------------------------------------------------


def content_hash(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def register_definition(session: Session, definition: WorkflowDef) -> WorkflowDefinition:
    """Store ``definition``; the same version again must be the same document."""
    document = definition.model_dump(mode="json", by_alias=True)
    digest = content_hash(document)
    row = session.get(WorkflowDefinition, (definition.id, definition.version))
    if row is not None:
        if row.content_hash != digest:
            raise Conflict(
                f"workflow {definition.id} version {definition.version} is already loaded "
                "with other content: give the change a new version",
                code="workflow_version_exists",
            )
        return row
    row = WorkflowDefinition(
        workflow_id=definition.id,
        version=definition.version,
        name_zh=definition.name.zh,
        name_en=definition.name.en,
        document=document,
        content_hash=digest,
    )
    session.add(row)
    session.flush()
    return row


# A handful of definitions and versions per district: nothing to evict.
_PARSED: dict[str, WorkflowDef] = {}


def definition_of(session: Session, workflow_id: str, version: int | None = None) -> WorkflowDef:
    """A loaded definition: ``version``, or the newest."""
    return _loaded(session, workflow_id, version)[1]


def definition_for(session: Session, instance: WorkflowInstance) -> WorkflowDef:
    """The definition an instance runs on: by the content hash it started with, from this
    process's parsed definitions when it is there (no query), else from the database."""
    if instance.definition_hash is not None:
        parsed = _PARSED.get(instance.definition_hash)
        if parsed is not None:
            return parsed
    return definition_of(session, instance.workflow_id, instance.version)


def _loaded(session: Session, workflow_id: str, version: int | None) -> tuple[str, WorkflowDef]:
    """A definition's content hash and its parsed form.

    Only the hash is read when the definition was parsed before in this process: parsed
    definitions are kept per hash (a hash names its content).
    """
    stmt = select(WorkflowDefinition.version, WorkflowDefinition.content_hash).where(
        WorkflowDefinition.workflow_id == workflow_id
    )
    if version is not None:
        stmt = stmt.where(WorkflowDefinition.version == version)
    row = session.execute(stmt.order_by(WorkflowDefinition.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound(
            f"no workflow {workflow_id!r}" + (f" version {version}" if version else ""),
            code="workflow_not_found",
        )
    parsed = _PARSED.get(row.content_hash)
    if parsed is None:
        document = session.scalar(
            select(WorkflowDefinition.document).where(
                WorkflowDefinition.workflow_id == workflow_id,
                WorkflowDefinition.version == row.version,
            )
        )
        parsed = _PARSED[row.content_hash] = WorkflowDef.model_validate(document)
    return row.content_hash, parsed


# --- deadlines ---------------------------------------------------------------------------


def _duration(limit: str, parameters: Mapping[str, Any]) -> Duration:
    if is_parameter(limit):
        group, key = limit.split(".", 1)
        value = (
            parameters.get(group, {}).get(key) if isinstance(parameters.get(group), dict) else None
        )
        if not isinstance(value, str):
            raise DefinitionError(f"the instance brings no {limit!r} time limit")
        return Duration.parse(value)
    return Duration.parse(limit)


def state_deadlines(
    definition: WorkflowDef,
    state: str,
    *,
    entered_at: datetime,
    parameters: Mapping[str, Any],
    calendar: WorkingCalendar,
) -> tuple[datetime | None, datetime | None]:
    """The yellow (warning) and red (overdue) points of ``state`` entered at ``entered_at``."""
    spec = definition.states[state]
    if spec.limit is None or spec.terminal:
        return None, None
    due = _duration(spec.limit, parameters).after(entered_at, calendar)
    warn = entered_at + (due - entered_at) * spec.warn_at
    return warn, due


# --- who may act -------------------------------------------------------------------------


def _holds(actor: Actor, action: ActionDef, instance: WorkflowInstance) -> bool:
    return any(
        grant.role in action.roles
        and reaches(
            grant,
            actor,
            region_code=instance.region_code,
            department_id=instance.department_id,
            owner_id=instance.owner_user_id,
            department_optional=True,
        )
        for grant in actor.grants
    )


def _assigned_to(actor: Actor, instance: WorkflowInstance) -> bool:
    if instance.assignee_user_id is not None:
        return instance.assignee_user_id == actor.user_id
    return instance.assignee_role is None or any(
        g.role == instance.assignee_role for g in actor.grants
    )


def may_take(actor: Actor, action: ActionDef, instance: WorkflowInstance) -> bool:
    """Whether ``actor`` may take ``action`` on ``instance`` now (state aside)."""
    if action.system or not _holds(actor, action, instance):
        return False
    return not action.assignee_only or _assigned_to(actor, instance)


def available_actions(
    definition: WorkflowDef, instance: WorkflowInstance, actor: Actor
) -> list[str]:
    """The actions ``actor`` may take on ``instance`` in its current state."""
    if instance.closed_at is not None:
        return []
    return [a.id for a in definition.actions_from(instance.state) if may_take(actor, a, instance)]


# --- transitions -------------------------------------------------------------------------


def start(
    session: Session,
    *,
    workflow_id: str,
    subject_type: str,
    subject_id: str,
    actor: Actor | None,
    title: str = "",
    region_code: str | None = None,
    department_id: uuid.UUID | None = None,
    owner_user_id: uuid.UUID | None = None,
    assignment: Assignment | None = None,
    parameters: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> WorkflowInstance:
    """A new instance of the newest version of ``workflow_id``, in its start state."""
    content_hash, definition = _loaded(session, workflow_id, None)
    now = utcnow()
    calendar = district_calendar(session)
    params = dict(parameters or {})
    warn, due = state_deadlines(
        definition, definition.start, entered_at=now, parameters=params, calendar=calendar
    )
    overall = (
        _duration(definition.overall_limit, params).after(now, calendar)
        if definition.overall_limit
        else None
    )
    chosen = assignment or Assignment()
    instance = WorkflowInstance(
        workflow_id=definition.id,
        version=definition.version,
        definition_hash=content_hash,
        subject_type=subject_type,
        subject_id=subject_id,
        title=title[:200],
        state=definition.start,
        state_seq=0,
        state_entered_at=now,
        warn_at=warn,
        due_at=due,
        overall_due_at=overall,
        region_code=region_code,
        department_id=chosen.department_id or department_id,
        assignee_user_id=chosen.user_id,
        assignee_role=chosen.role,
        owner_user_id=owner_user_id,
        parameters=params,
    )
    session.add(instance)
    session.flush()
    _history(
        session,
        instance,
        seq=0,
        action="start",
        from_state=None,
        to_state=definition.start,
        actor=actor,
        comment=None,
        data=dict(data or {}),
        attachments=[dict(a) for a in attachments],
        at=now,
    )
    schedule_timer(session, definition, instance)
    emit(
        session,
        type="workflow.started",
        key=str(instance.id),
        payload=_event_payload(instance, action="start"),
    )
    return instance


def act(
    session: Session,
    *,
    instance_id: uuid.UUID,
    action: str,
    actor: Actor,
    expected_version: int | None = None,
    comment: str | None = None,
    data: Mapping[str, Any] | None = None,
    attachments: Sequence[Mapping[str, Any]] = (),
    parameters: Mapping[str, Any] | None = None,
) -> WorkflowInstance:
    """Take ``action`` on an instance as ``actor``; see the module docstring for checks.

    ``parameters`` update the instance's own (e.g. the time limits of the category a case
    is registered under) in the same write, before the next state's deadlines are set.
    """
    instance = session.get(WorkflowInstance, instance_id)
    if instance is None:
        raise NotFound("no such workflow instance", code="task_not_found")
    hooks = _subjects.get(instance.subject_type, SubjectHooks())
    step = Step(
        action=action,
        data=dict(data or {}),
        attachments=[dict(a) for a in attachments],
        parameters=dict(parameters or {}),
        due_before=instance.due_at,
    )
    if hooks.prepare is not None:
        hooks.prepare(session, instance, step)
    action = step.action
    definition = definition_for(session, instance)
    spec = definition.action(action)
    allowed_here = [a.id for a in definition.actions_from(instance.state) if not a.system]
    if spec is None or spec.system or instance.state not in spec.from_ or instance.closed_at:
        raise Conflict(
            f"{action!r} cannot be taken in state {instance.state!r}",
            code="action_not_allowed",
            state=instance.state,
            allowed_actions=allowed_here,
        )
    if not may_take(actor, spec, instance):
        raise PermissionDenied(
            f"you may not take {action!r} on this item",
            code="action_forbidden",
            your_actions=available_actions(definition, instance, actor),
        )
    _require(spec, comment=comment, data=step.data, attachments=step.attachments)
    if expected_version is not None and expected_version != instance.row_version:
        raise Conflict(
            "someone acted on this item since you loaded it; reload it",
            code="stale_version",
            current_version=instance.row_version,
        )
    _transition(
        session,
        definition,
        instance,
        spec,
        actor=actor,
        comment=comment,
        data=step.data,
        attachments=step.attachments,
        parameters=step.parameters,
    )
    if hooks.follow is not None:
        hooks.follow(session, instance, step, actor)
    return instance


def system_act(
    session: Session, *, instance: WorkflowInstance, action: str, reason: str
) -> WorkflowInstance:
    """Take a system action (an escalation), recorded as done by the system."""
    definition = definition_for(session, instance)
    spec = definition.action(action)
    if spec is None or instance.state not in spec.from_ or instance.closed_at:
        return instance
    step = Step(action=action, data={}, attachments=[], parameters={}, due_before=instance.due_at)
    _transition(
        session,
        definition,
        instance,
        spec,
        actor=None,
        comment=reason,
        data=step.data,
        attachments=step.attachments,
    )
    hooks = _subjects.get(instance.subject_type)
    if hooks is not None and hooks.follow is not None:
        hooks.follow(session, instance, step, None)
    return instance


def _require(
    spec: ActionDef,
    *,
    comment: str | None,
    data: Mapping[str, Any],
    attachments: Sequence[Mapping[str, Any]],
) -> None:
    errors: list[dict[str, str]] = []
    for name in spec.requires:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append({"field": f"data.{name}", "message": "required", "type": "missing"})
    kinds = {str(a.get("kind")) for a in attachments}
    for kind in spec.attachments:
        if kind not in kinds:
            errors.append(
                {"field": f"attachments.{kind}", "message": "required", "type": "missing"}
            )
    if spec.comment_required and not (comment and comment.strip()):
        errors.append({"field": "comment", "message": "required", "type": "missing"})
    if errors:
        missing = ", ".join(e["field"] for e in errors)
        raise ValidationFailed(f"{spec.id} needs {missing}", code="step_incomplete", errors=errors)


def _transition(
    session: Session,
    definition: WorkflowDef,
    instance: WorkflowInstance,
    spec: ActionDef,
    *,
    actor: Actor | None,
    comment: str | None,
    data: dict[str, Any],
    attachments: list[dict[str, Any]],
    parameters: Mapping[str, Any] | None = None,
) -> WorkflowInstance:
    now = utcnow()
    from_state = instance.state
    calendar = district_calendar(session)
    _history(
        session,
        instance,
        seq=_next_seq(instance),
        action=spec.id,
        from_state=from_state,
        to_state=spec.to,
        actor=actor,
        comment=comment,
        data=data,
        attachments=attachments,
        at=now,
    )
    # One write of the instance per transition: no query in between may flush it early
    # (each flush of a changed row would count as a version of its own).
    with session.no_autoflush:
        if parameters:
            instance.parameters = {**instance.parameters, **parameters}
        _assign(session, instance, spec, data, actor)
        if spec.to != from_state:
            instance.state = spec.to
            instance.state_seq += 1
            instance.state_entered_at = now
            instance.warn_at, instance.due_at = state_deadlines(
                definition,
                spec.to,
                entered_at=now,
                parameters=instance.parameters,
                calendar=calendar,
            )
        if definition.states[spec.to].terminal:
            instance.closed_at = now
            instance.assignee_user_id = None
            instance.assignee_role = None
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict(
            "someone acted on this item at the same moment; reload it",
            code="concurrent_action",
        ) from exc
    if spec.to != from_state:
        # Timers belong to a state entry: staying in the state keeps the running ones.
        schedule_timer(session, definition, instance)
    emit(
        session,
        type="workflow.transitioned",
        key=str(instance.id),
        payload=_event_payload(instance, action=spec.id, from_state=from_state),
    )
    return instance


def _assign(
    session: Session,
    instance: WorkflowInstance,
    spec: ActionDef,
    data: Mapping[str, Any],
    actor: Actor | None,
) -> None:
    rule = spec.assign
    if rule is None or rule.keep:
        return
    if rule.rule is not None:
        if rule.rule not in _rules:
            raise DefinitionError(f"no assignment rule {rule.rule!r} is registered")
        chosen = _rules[rule.rule](session, instance, data)
    elif rule.field is not None:
        raw = data.get(rule.field)
        try:
            chosen = Assignment(user_id=uuid.UUID(str(raw)))
        except ValueError:
            raise ValidationFailed(
                f"{rule.field} must name a user",
                code="assignee_invalid",
                errors=[
                    {"field": f"data.{rule.field}", "message": "not a user id", "type": "uuid"}
                ],
            ) from None
    elif rule.previous is not None:
        chosen = _previous_actor(session, instance, rule.previous)
    elif rule.department_field is not None:
        chosen = Assignment(
            role=rule.role, department_id=_department(session, data, rule.department_field)
        )
    else:
        kept = instance.department_id if rule.keep_department else None
        chosen = Assignment(role=rule.role, department_id=kept)
    instance.assignee_role = chosen.role
    instance.assignee_user_id = chosen.user_id
    instance.department_id = chosen.department_id


def _department(session: Session, data: Mapping[str, Any], name: str) -> uuid.UUID:
    from cityos.foundation.identity.models import Department

    code = data.get(name)
    found = (
        session.scalar(select(Department.id).where(Department.code == str(code)))
        if isinstance(code, str)
        else None
    )
    if found is None:
        raise ValidationFailed(
            f"{name} must be the code of a department",
            code="department_unknown",
            errors=[{"field": f"data.{name}", "message": "unknown department", "type": "unknown"}],
        )
    return found


def _previous_actor(session: Session, instance: WorkflowInstance, state: str) -> Assignment:
    user_id = session.scalar(
        select(WorkflowEvent.actor_user_id)
        .where(WorkflowEvent.instance_id == instance.id, WorkflowEvent.from_state == state)
        .order_by(WorkflowEvent.seq.desc())
        .limit(1)
    )
    return Assignment(user_id=user_id)


def _next_seq(instance: WorkflowInstance) -> ScalarSelect[int]:
    """The next history number, computed by the INSERT itself (one round trip, not two);
    the unique (instance, seq) still refuses a fork."""
    return (
        select(func.coalesce(func.max(WorkflowEvent.seq), -1) + 1)
        .where(WorkflowEvent.instance_id == instance.id)
        .scalar_subquery()
    )


def _history(
    session: Session,
    instance: WorkflowInstance,
    *,
    seq: int | ScalarSelect[int],
    action: str,
    from_state: str | None,
    to_state: str,
    actor: Actor | None,
    comment: str | None,
    data: dict[str, Any],
    attachments: list[dict[str, Any]],
    at: datetime,
) -> None:
    session.add(
        WorkflowEvent(
            instance_id=instance.id,
            seq=seq,
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor=actor.username if actor else SYSTEM_ACTOR,
            actor_user_id=actor.user_id if actor else None,
            comment=comment,
            data=data,
            attachments=attachments,
            occurred_at=at,
        )
    )


def note(
    session: Session, *, instance: WorkflowInstance, action: str, data: dict[str, Any]
) -> None:
    """A system note in the history that changes no state (a warning, an overdue mark)."""
    _history(
        session,
        instance,
        seq=_next_seq(instance),
        action=action,
        from_state=instance.state,
        to_state=instance.state,
        actor=None,
        comment=None,
        data=data,
        attachments=[],
        at=utcnow(),
    )
    session.flush()


def history(session: Session, instance_id: uuid.UUID) -> list[WorkflowEvent]:
    """Every step of an instance, in order."""
    return list(
        session.scalars(
            select(WorkflowEvent)
            .where(WorkflowEvent.instance_id == instance_id)
            .order_by(WorkflowEvent.seq)
        )
    )


def _event_payload(
    instance: WorkflowInstance, *, action: str, from_state: str | None = None
) -> dict[str, Any]:
    return {
        "instance_id": str(instance.id),
        "workflow_id": instance.workflow_id,
        "subject_type": instance.subject_type,
        "subject_id": instance.subject_id,
        "action": action,
        "from_state": from_state,
        "state": instance.state,
        "closed": instance.closed_at is not None,
    }


# --- timers ------------------------------------------------------------------------------


def timer_points(
    session: Session, definition: WorkflowDef, instance: WorkflowInstance
) -> list[tuple[str, datetime]]:
    """The current state's timed points in the order they fall due: the warning, the
    overdue mark and timed escalations (``after:N``, N the escalation's index)."""
    points: list[tuple[str, datetime | None]] = [
        ("warning", instance.warn_at),
        ("overdue", instance.due_at),
    ]
    calendar = None
    for index, escalation in enumerate(definition.escalations):
        delay = escalation.delay
        if escalation.state == instance.state and delay is not None:
            calendar = calendar or district_calendar(session)
            points.append((f"after:{index}", delay.after(instance.state_entered_at, calendar)))
    timed = [(kind, due) for kind, due in points if due is not None]
    return sorted(timed, key=lambda point: point[1])


def schedule_timer(
    session: Session,
    definition: WorkflowDef,
    instance: WorkflowInstance,
    *,
    after: str | None = None,
) -> None:
    """One job for the current state's next timed point (the first, or the one after the
    point ``after`` that has just fired). It carries the state's sequence number, so a
    timer that outlived its state does nothing; each firing sets the next one, so a state
    entry costs one job row however many points it has."""
    if instance.closed_at is not None:
        return
    points = timer_points(session, definition, instance)
    kinds = [kind for kind, _ in points]
    if after is None:
        upcoming = points[:1]
    elif after in kinds:
        upcoming = points[kinds.index(after) + 1 :][:1]
    else:
        return
    for kind, due in upcoming:
        schedule(
            session,
            name=TIMER_JOB,
            payload={
                "instance_id": str(instance.id),
                "state_seq": instance.state_seq,
                "kind": kind,
            },
            due_at=due,
            dedupe_key=f"wf:{instance.id}:{instance.state_seq}:{kind}",
        )
