"""What the cases module does when the workflow moves a case by itself (a timer's
supervision or automatic close): the case row follows, after the workflow's commit."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.domains.cases.models import Case
from cityos.foundation.workflow import WorkflowInstance
from cityos.kernel.bus import Event

SUPERVISION = frozenset({"supervise", "urge"})


def follow_workflow(session: Session, event: Event) -> None:
    """Keep a case's status and counts in step with its workflow instance."""
    payload = event.payload
    if payload.get("subject_type") != "case":
        return
    case = session.scalar(
        select(Case).where(Case.id == uuid.UUID(str(payload["subject_id"]))).with_for_update()
    )
    instance = session.get(WorkflowInstance, uuid.UUID(str(payload["instance_id"])))
    if case is None or instance is None:
        return
    case.status = instance.state
    case.due_at = instance.due_at
    if payload.get("action") in SUPERVISION:
        case.supervised_count += 1
        case.closed_on_time = False if case.closed_at else case.closed_on_time
    if instance.closed_at is not None and case.closed_at is None:
        case.closed_at = instance.closed_at
        case.closed_on_time = bool(
            case.signed_on_time is not False
            and case.handled_on_time is not False
            and case.supervised_count == 0
        )
