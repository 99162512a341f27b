"""Who is told when a workflow task nears or passes its deadline, or is escalated.

The workflow engine loads after this module (it may notify through it), so its models
are imported inside the handlers rather than at import time, which would be circular.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cityos.foundation.notify.models import Channel
from cityos.foundation.notify.service import holders, notify
from cityos.foundation.notify.templates import (
    WORKFLOW_ESCALATED,
    WORKFLOW_OVERDUE,
    WORKFLOW_WARNING,
)
from cityos.kernel.bus import Event

if TYPE_CHECKING:
    from cityos.foundation.workflow.models import WorkflowInstance

SHANGHAI = ZoneInfo("Asia/Shanghai")
WHEN: dict[str, dict[str, str]] = {
    "warning": {"zh-CN": "即将超时", "en": "nearly due"},
    "overdue": {"zh-CN": "已超时", "en": "overdue"},
}
PAST_LIMIT = {"zh-CN": "已超过时限", "en": "past its time limit"}


def _instance(session: Session, payload: dict[str, Any]) -> WorkflowInstance | None:
    from cityos.foundation.workflow.models import WorkflowInstance

    instance = session.get(WorkflowInstance, uuid.UUID(str(payload["instance_id"])))
    if instance is None or instance.closed_at is not None:
        return None
    return instance


def _task_params(session: Session, instance: WorkflowInstance) -> dict[str, Any]:
    from cityos.foundation.workflow.service import definition_for

    definition = definition_for(session, instance)
    state = definition.states.get(instance.state)
    name = state.name if state is not None else None
    due = instance.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if instance.due_at else ""
    return {
        "title": instance.title or definition.name.zh,
        "state": {"zh-CN": name.zh, "en": name.en} if name else instance.state,
        "due_at": due,
        "workflow_id": instance.workflow_id,
    }


def _waiting(session: Session, instance: WorkflowInstance) -> list[uuid.UUID]:
    """Who the task waits for: its user, else holders of its role within its region (and
    department: a task at a unit is its handlers' business, not other units')."""
    if instance.assignee_user_id is not None:
        return [instance.assignee_user_id]
    if instance.assignee_role is None:
        return []
    return holders(
        session,
        roles=[instance.assignee_role],
        region_code=instance.region_code,
        department_id=instance.department_id,
    )


def on_deadline(session: Session, event: Event) -> None:
    """``workflow.warning`` / ``workflow.overdue``: tell whoever the task waits for."""
    instance = _instance(session, event.payload)
    if instance is None or instance.state != event.payload.get("state"):
        return
    template = WORKFLOW_OVERDUE if event.type == "workflow.overdue" else WORKFLOW_WARNING
    notify(
        session,
        recipients=_waiting(session, instance),
        template=template.code,
        params=_task_params(session, instance),
        channels=(Channel.PORTAL, Channel.SMS),
        subject_type="workflow_instance",
        subject_id=str(instance.id),
    )


def on_escalated(session: Session, event: Event) -> None:
    """``workflow.escalated``: tell the holders of the roles it names whose jurisdiction
    reaches the task's region (whatever their department: escalation goes above the unit)."""
    instance = _instance(session, event.payload)
    if instance is None:
        return
    when = str(event.payload.get("when", ""))
    params = _task_params(session, instance) | {"when": WHEN.get(when, PAST_LIMIT)}
    notify(
        session,
        recipients=holders(
            session,
            roles=[str(r) for r in event.payload.get("notify_roles", [])],
            region_code=instance.region_code,
        ),
        template=WORKFLOW_ESCALATED.code,
        params=params,
        channels=(Channel.PORTAL, Channel.SMS),
        subject_type="workflow_instance",
        subject_id=str(instance.id),
    )
