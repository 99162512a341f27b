"""The unified inbox (统一待办): every open task waiting for a person, across workflows.

A task waits for a person when it is assigned to them, or to a role they hold through a
grant that reaches its region (and department, where the task names one). The reach is
decided by identity's ``grant_clause``, the one jurisdiction helper.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from cityos.foundation.identity.authz import Actor, grant_clause
from cityos.foundation.workflow.models import WorkflowInstance
from cityos.kernel.clock import utcnow


class Colour(StrEnum):
    """Where a task stands against its deadline (the 红黄绿灯 of supervision)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    NONE = "none"


def colour(instance: WorkflowInstance, now: datetime | None = None) -> Colour:
    now = now or utcnow()
    if instance.due_at is None:
        return Colour.NONE
    if now >= instance.due_at:
        return Colour.RED
    if instance.warn_at is not None and now >= instance.warn_at:
        return Colour.YELLOW
    return Colour.GREEN


def waiting_for(actor: Actor) -> ColumnElement[bool]:
    """The clause of open instances waiting for ``actor``."""
    mine: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        mine.append(WorkflowInstance.assignee_user_id == actor.user_id)
    for grant in actor.grants:
        reach = grant_clause(
            grant,
            actor,
            region_column=WorkflowInstance.region_code,
            department_column=WorkflowInstance.department_id,
            owner_column=WorkflowInstance.owner_user_id,
            department_optional=True,
        )
        if reach is not None:
            mine.append(
                and_(
                    WorkflowInstance.assignee_user_id.is_(None),
                    WorkflowInstance.assignee_role == grant.role,
                    reach,
                )
            )
    return and_(WorkflowInstance.closed_at.is_(None), or_(*mine) if mine else false())


@dataclass(frozen=True)
class InboxFilter:
    workflow_id: str | None = None
    state: str | None = None
    colour: Colour | None = None
    region_code: str | None = None
    text: str | None = None


def inbox_query(actor: Actor, filters: InboxFilter) -> Select[Any]:
    stmt = select(WorkflowInstance).where(waiting_for(actor))
    if filters.workflow_id:
        stmt = stmt.where(WorkflowInstance.workflow_id == filters.workflow_id)
    if filters.state:
        stmt = stmt.where(WorkflowInstance.state == filters.state)
    if filters.region_code:
        stmt = stmt.where(WorkflowInstance.region_code.startswith(filters.region_code))
    if filters.text:
        stmt = stmt.where(WorkflowInstance.title.contains(filters.text, autoescape=True))
    now = utcnow()
    if filters.colour is Colour.RED:
        stmt = stmt.where(WorkflowInstance.due_at <= now)
    elif filters.colour is Colour.YELLOW:
        stmt = stmt.where(WorkflowInstance.warn_at <= now, WorkflowInstance.due_at > now)
    elif filters.colour is Colour.GREEN:
        stmt = stmt.where(
            or_(WorkflowInstance.warn_at.is_(None), WorkflowInstance.warn_at > now),
            WorkflowInstance.due_at.is_not(None),
        )
    elif filters.colour is Colour.NONE:
        stmt = stmt.where(WorkflowInstance.due_at.is_(None))
    return stmt


MAX_PAGE = 200


def inbox(
    session: Session,
    *,
    actor: Actor,
    filters: InboxFilter | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[WorkflowInstance], int]:
    """A page of open tasks waiting for ``actor``, most urgent first (no deadline last),
    and how many there are. Offset paging: a to-do list is short, and its order (by
    deadline, some without one) has no keyset the cursor pager can continue after."""
    stmt = inbox_query(actor, filters or InboxFilter())
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(
        stmt.order_by(
            WorkflowInstance.due_at.is_(None),
            WorkflowInstance.due_at,
            WorkflowInstance.id,
        )
        .offset(max(offset, 0))
        .limit(min(max(limit, 1), MAX_PAGE))
    )
    return [row for row in rows if isinstance(row, WorkflowInstance)], int(total or 0)


def visible(session: Session, actor: Actor, instance_id: uuid.UUID) -> WorkflowInstance | None:
    """The instance if it waits for ``actor`` now, or ``actor`` owns it."""
    found = session.scalar(
        select(WorkflowInstance).where(
            WorkflowInstance.id == instance_id,
            or_(
                waiting_for(actor),
                WorkflowInstance.owner_user_id == actor.user_id,
            ),
        )
    )
    return found
