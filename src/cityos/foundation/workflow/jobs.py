"""Deadline timers: the yellow warning, the red overdue mark and timed escalations.

A state entry has one timer at a time: it names the state entry it was set for
(``state_seq``) and its point; when it fires it sets the next point's timer, and when it
fires after the instance has moved on it does nothing. The job runner claims each timer
once across any number of workers, and an escalation's action goes through the same transition as a
person's, so a race with a person acting is one winner and one no-op.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from cityos.foundation.workflow.models import WorkflowInstance
from cityos.foundation.workflow.service import definition_for, note, schedule_timer, system_act
from cityos.kernel.bus import emit


def run_timer(session: Session, payload: dict[str, Any]) -> None:
    instance = session.get(WorkflowInstance, uuid.UUID(str(payload["instance_id"])))
    if instance is None or instance.closed_at is not None:
        return
    if instance.state_seq != int(payload["state_seq"]):
        return
    kind = str(payload["kind"])
    definition = definition_for(session, instance)
    if kind in ("warning", "overdue"):
        note(session, instance=instance, action=f"system.{kind}", data={"state": instance.state})
        emit(
            session,
            type=f"workflow.{kind}",
            key=str(instance.id),
            payload={
                "instance_id": str(instance.id),
                "workflow_id": instance.workflow_id,
                "subject_type": instance.subject_type,
                "subject_id": instance.subject_id,
                "state": instance.state,
                "due_at": instance.due_at.isoformat() if instance.due_at else None,
            },
        )
    for index, escalation in enumerate(definition.escalations):
        fires = escalation.when == kind or (kind.startswith("after:") and kind == f"after:{index}")
        if escalation.state != instance.state or not fires:
            continue
        if escalation.notify:
            emit(
                session,
                type="workflow.escalated",
                key=str(instance.id),
                payload={
                    "instance_id": str(instance.id),
                    "workflow_id": instance.workflow_id,
                    "state": instance.state,
                    "when": escalation.when,
                    "notify_roles": list(escalation.notify),
                },
            )
        if escalation.action is not None:
            seq = instance.state_seq
            system_act(
                session,
                instance=instance,
                action=escalation.action,
                reason=f"escalation: {escalation.when}",
            )
            if instance.state_seq != seq or instance.closed_at is not None:
                return
    schedule_timer(session, definition, instance, after=kind)
