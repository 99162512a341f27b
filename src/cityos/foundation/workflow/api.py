"""``/api/v1/workflow``: the unified inbox, an instance with its history, and actions
(one or many at once)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from cityos.foundation.identity.authz import Actor, require
from cityos.foundation.workflow.inbox import MAX_PAGE, Colour, InboxFilter, colour, inbox, visible
from cityos.foundation.workflow.models import WorkflowInstance
from cityos.foundation.workflow.service import (
    act,
    available_actions,
    definition_for,
    history,
)
from cityos.kernel.errors import DomainError, NotFound
from cityos.kernel.http import DbSession

router = APIRouter(prefix="/workflow", tags=["workflow 流程与待办"])

PERMISSIONS: dict[str, dict[str, str]] = {
    "workflow.inbox.read": {"zh": "查看本人待办", "en": "Read one's own to-do list"},
    "workflow.instances.act": {"zh": "办理待办事项", "en": "Act on tasks"},
}


class ActionOut(BaseModel):
    id: str
    name_zh: str
    name_en: str
    requires: list[str] = Field(description="data fields the action needs")
    attachments: list[str] = Field(description="attachment kinds the action needs")
    comment_required: bool


class TaskOut(BaseModel):
    id: uuid.UUID
    workflow_id: str
    workflow_name_zh: str
    workflow_name_en: str
    subject_type: str
    subject_id: str
    title: str
    state: str
    state_name_zh: str
    state_name_en: str
    state_entered_at: datetime
    warn_at: datetime | None
    due_at: datetime | None
    colour: Colour
    region_code: str | None
    assignee_role: str | None
    assigned_to_me: bool
    version: int
    actions: list[ActionOut]


class InboxOut(BaseModel):
    items: list[TaskOut]
    total: int


class EventOut(BaseModel):
    seq: int
    action: str
    from_state: str | None
    to_state: str
    actor: str
    comment: str | None
    data: dict[str, Any]
    attachments: list[Any]
    occurred_at: datetime


class InstanceOut(TaskOut):
    closed_at: datetime | None
    history: list[EventOut]


class ActionIn(BaseModel):
    expected_version: int | None = Field(
        default=None, description="the version you saw; a newer one means someone acted first"
    )
    comment: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)
    attachments: list[dict[str, Any]] = Field(default_factory=list, max_length=50)


class BulkIn(BaseModel):
    instance_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
    action: str
    comment: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)


class BulkResult(BaseModel):
    instance_id: uuid.UUID
    ok: bool
    status: int
    code: str | None = None
    detail: str | None = None


def _task(session: DbSession, actor: Actor, instance: WorkflowInstance) -> dict[str, Any]:
    definition = definition_for(session, instance)
    state = definition.states[instance.state]
    actions = []
    for action_id in available_actions(definition, instance, actor):
        spec = definition.action(action_id)
        assert spec is not None
        actions.append(
            ActionOut(
                id=spec.id,
                name_zh=spec.name.zh if spec.name else spec.id,
                name_en=spec.name.en if spec.name else spec.id,
                requires=list(spec.requires),
                attachments=list(spec.attachments),
                comment_required=spec.comment_required,
            )
        )
    return {
        "id": instance.id,
        "workflow_id": instance.workflow_id,
        "workflow_name_zh": definition.name.zh,
        "workflow_name_en": definition.name.en,
        "subject_type": instance.subject_type,
        "subject_id": instance.subject_id,
        "title": instance.title,
        "state": instance.state,
        "state_name_zh": state.name.zh if state.name else instance.state,
        "state_name_en": state.name.en if state.name else instance.state,
        "state_entered_at": instance.state_entered_at,
        "warn_at": instance.warn_at,
        "due_at": instance.due_at,
        "colour": colour(instance),
        "region_code": instance.region_code,
        "assignee_role": instance.assignee_role,
        "assigned_to_me": instance.assignee_user_id is not None
        and instance.assignee_user_id == actor.user_id,
        "version": instance.row_version,
        "actions": actions,
    }


@router.get("/inbox", response_model=InboxOut)
def get_inbox(
    session: DbSession,
    actor: Annotated[Actor, Depends(require("workflow.inbox.read"))],
    workflow: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=64)] = None,
    colour_filter: Annotated[Colour | None, Query(alias="colour")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6,15}$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> InboxOut:
    """Every open task waiting for you or your roles within your jurisdiction, most
    urgent first, across every workflow."""
    filters = InboxFilter(
        workflow_id=workflow, state=state, colour=colour_filter, region_code=region, text=q
    )
    rows, total = inbox(session, actor=actor, filters=filters, offset=offset, limit=limit)
    return InboxOut(items=[TaskOut(**_task(session, actor, r)) for r in rows], total=total)


def _instance_out(session: DbSession, actor: Actor, instance: WorkflowInstance) -> InstanceOut:
    steps = [
        EventOut(
            seq=e.seq,
            action=e.action,
            from_state=e.from_state,
            to_state=e.to_state,
            actor=e.actor,
            comment=e.comment,
            data=e.data,
            attachments=e.attachments,
            occurred_at=e.occurred_at,
        )
        for e in history(session, instance.id)
    ]
    return InstanceOut(
        **_task(session, actor, instance), closed_at=instance.closed_at, history=steps
    )


@router.get("/instances/{instance_id}", response_model=InstanceOut)
def get_instance(
    instance_id: uuid.UUID,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("workflow.inbox.read"))],
) -> InstanceOut:
    """A task waiting for you (or an item you own), with its whole history."""
    instance = visible(session, actor, instance_id)
    if instance is None:
        raise NotFound("no such task for you", code="task_not_found")
    return _instance_out(session, actor, instance)


@router.post("/instances/{instance_id}/actions/{action}", response_model=InstanceOut)
def take_action(
    instance_id: uuid.UUID,
    action: str,
    body: ActionIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("workflow.instances.act"))],
) -> InstanceOut:
    """Take an action; 409 lists the actions allowed now, 403 yours, 422 names what is
    missing."""
    instance = act(
        session,
        instance_id=instance_id,
        action=action,
        actor=actor,
        expected_version=body.expected_version,
        comment=body.comment,
        data=body.data,
        attachments=body.attachments,
    )
    return _instance_out(session, actor, instance)


@router.post("/inbox/actions", response_model=list[BulkResult])
def bulk_action(
    body: BulkIn,
    session: DbSession,
    actor: Annotated[Actor, Depends(require("workflow.instances.act"))],
) -> list[BulkResult]:
    """The same action on several tasks; each succeeds or fails on its own."""
    results: list[BulkResult] = []
    for instance_id in body.instance_ids:
        savepoint = session.begin_nested()
        try:
            act(
                session,
                instance_id=instance_id,
                action=body.action,
                actor=actor,
                comment=body.comment,
                data=body.data,
            )
            savepoint.commit()
            results.append(BulkResult(instance_id=instance_id, ok=True, status=200))
        except DomainError as exc:
            savepoint.rollback()
            results.append(
                BulkResult(
                    instance_id=instance_id,
                    ok=False,
                    status=exc.status,
                    code=exc.code,
                    detail=exc.detail,
                )
            )
    return results
