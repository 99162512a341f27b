"""Identity test data, built through the models: users holding roles over jurisdictions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import Role, RoleAssignment, Scope, User, UserKind


@dataclass(frozen=True)
class Assign:
    role: str
    scope: Scope
    permissions: Sequence[str]
    jurisdiction: Sequence[str] = ()
    department_id: uuid.UUID | None = None


def create_user(
    session: Session,
    username: str,
    *assignments: Assign,
    kind: UserKind = UserKind.STAFF,
    active: bool = True,
) -> User:
    """A user holding the given roles (each role created as needed)."""
    user = User(username=username, display_name=username, kind=kind, active=active)
    session.add(user)
    session.flush()
    for a in assignments:
        if session.scalars(select(Role).where(Role.code == a.role)).first() is None:
            session.add(
                Role(
                    code=a.role,
                    name_zh=a.role,
                    name_en=a.role,
                    permissions=list(a.permissions),
                    scope=a.scope,
                )
            )
            session.flush()
        session.add(
            RoleAssignment(
                user_id=user.id,
                role=a.role,
                department_id=a.department_id,
                jurisdiction=list(a.jurisdiction),
            )
        )
    session.flush()
    return user
