"""Administering the organisation: users, the department tree and who holds which role over
which regions. Every change is audited (ids and codes only, never names or phones)."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Final, get_args

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.identity.authz import Actor
from cityos.foundation.identity.credentials import set_password
from cityos.foundation.identity.models import (
    Department,
    Role,
    RoleAssignment,
    Scope,
    TotpCredential,
    User,
    UserKind,
)
from cityos.foundation.identity.permissions import expand
from cityos.foundation.identity.profile import DepartmentKind
from cityos.foundation.privacy import blind_index, normalise_mobile
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from cityos.kernel.pagination import MAX_LIMIT
from cityos.settings import Settings

USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,63}$")
DEPARTMENT_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
# Luohu's district code, then three digits per level: subdistrict, community, grid.
REGION_CODE = re.compile(r"^440303(\d{3}){0,3}$")
DEPARTMENT_KINDS: Final[tuple[str, ...]] = get_args(DepartmentKind)


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""An update argument left as it is (``None`` would clear it)."""


@dataclass(frozen=True)
class Audit:
    """Who makes a change and from where, as the audit record keeps it."""

    actor: str
    ip: str | None = None
    request_id: str | None = None

    def record(
        self,
        session: Session,
        *,
        action: str,
        target_type: str,
        target_id: str,
        details: dict[str, Any],
    ) -> None:
        """Append a successful change to the audit trail, in the caller's transaction."""
        record(
            session,
            actor=self.actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            outcome="success",
            details=details,
            ip=self.ip,
            request_id=self.request_id,
        )


def _invalid(field_name: str, message: str, kind: str = "value_error") -> ValidationFailed:
    return ValidationFailed(
        f"{field_name}: {message}",
        errors=[{"field": field_name, "message": message, "type": kind}],
    )


# --- departments -----------------------------------------------------------------------


@dataclass
class DepartmentNode:
    """A department with its sub-departments, in display order."""

    department: Department
    children: list[DepartmentNode] = field(default_factory=list)


def get_department(session: Session, *, code: str) -> Department:
    """The department with ``code``, or ``NotFound``."""
    department = session.scalars(select(Department).where(Department.code == code)).first()
    if department is None:
        raise NotFound(f"no department {code!r}")
    return department


def _department_ref(session: Session, code: str, field_name: str) -> Department:
    """A department named in a request body: unknown is the caller's input error (422)."""
    department = session.scalars(select(Department).where(Department.code == code)).first()
    if department is None:
        raise _invalid(field_name, f"no department {code!r}", "unknown")
    return department


def department_subtree_ids(session: Session, department: Department) -> set[uuid.UUID]:
    """``department`` and every department below it."""
    children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    for department_id, parent_id in session.execute(select(Department.id, Department.parent_id)):
        children.setdefault(parent_id, []).append(department_id)
    found: set[uuid.UUID] = set()
    stack = [department.id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, ()))
    return found


def department_tree(session: Session) -> list[DepartmentNode]:
    """Every department as a forest of roots, siblings by ``sort`` then code."""
    rows = session.scalars(select(Department).order_by(Department.sort, Department.code)).all()
    nodes = {row.id: DepartmentNode(row) for row in rows}
    roots: list[DepartmentNode] = []
    for row in rows:
        parent = nodes.get(row.parent_id) if row.parent_id else None
        (parent.children if parent else roots).append(nodes[row.id])
    return roots


def _check_department_values(kind: str | None, region_code: str | None) -> None:
    if kind is not None and kind not in DEPARTMENT_KINDS:
        raise _invalid("kind", f"must be one of {', '.join(DEPARTMENT_KINDS)}", "enum")
    if region_code is not None and not REGION_CODE.match(region_code):
        raise _invalid("region_code", "must be a Luohu region code (440303…)", "pattern")


def create_department(
    session: Session,
    *,
    audit: Audit,
    code: str,
    name_zh: str,
    name_en: str,
    kind: str,
    parent_code: str | None = None,
    region_code: str | None = None,
    sort: int | None = None,
) -> Department:
    """A new department under ``parent_code`` (or a new root), audited."""
    if not DEPARTMENT_CODE.match(code):
        raise _invalid("code", "lower-case letters, digits and hyphens, 2–64 long", "pattern")
    _check_department_values(kind, region_code)
    if session.scalars(select(Department.id).where(Department.code == code)).first():
        raise Conflict(f"department {code!r} exists already", code="department_exists")
    parent = _department_ref(session, parent_code, "parent_code") if parent_code else None
    if sort is None:
        # New departments go after their siblings unless told otherwise.
        sort = (session.scalar(select(func.max(Department.sort))) or 0) + 1
    department = Department(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        kind=kind,
        parent_id=parent.id if parent else None,
        region_code=region_code,
        sort=sort,
    )
    session.add(department)
    session.flush()
    audit.record(
        session,
        action="identity.department_create",
        target_type="department",
        target_id=str(department.id),
        details={"code": code, "parent": parent_code, "kind": kind, "region": region_code},
    )
    return department


def update_department(
    session: Session,
    *,
    audit: Audit,
    code: str,
    name_zh: str | _Keep = KEEP,
    name_en: str | _Keep = KEEP,
    kind: str | _Keep = KEEP,
    parent_code: str | _Keep | None = KEEP,
    region_code: str | _Keep | None = KEEP,
    sort: int | _Keep = KEEP,
) -> Department:
    """Change a department; moving it under itself or its own descendant is refused."""
    department = get_department(session, code=code)
    _check_department_values(
        None if isinstance(kind, _Keep) else kind,
        None if isinstance(region_code, _Keep) else region_code,
    )
    changes: dict[str, Any] = {}
    if not isinstance(parent_code, _Keep):
        parent_id = None
        if parent_code is not None:
            parent = _department_ref(session, parent_code, "parent_code")
            if parent.id in department_subtree_ids(session, department):
                raise _invalid(
                    "parent_code", "a department cannot be moved under itself or below", "cycle"
                )
            parent_id = parent.id
        changes["parent_id"] = parent_id
    for name, value in (
        ("name_zh", name_zh),
        ("name_en", name_en),
        ("kind", kind),
        ("region_code", region_code),
        ("sort", sort),
    ):
        if not isinstance(value, _Keep):
            changes[name] = value
    changed = sorted(k for k, v in changes.items() if getattr(department, k) != v)
    for key in changed:
        setattr(department, key, changes[key])
    session.flush()
    if changed:
        details: dict[str, Any] = {"code": code, "changed": changed}
        if "parent_id" in changed:
            details["parent"] = parent_code
        audit.record(
            session,
            action="identity.department_update",
            target_type="department",
            target_id=str(department.id),
            details=details,
        )
    return department


# --- users -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentView:
    """A role assignment as people see it: role names, department code, regions."""

    id: uuid.UUID
    role: str
    name_zh: str
    name_en: str
    scope: Scope
    department_code: str | None
    jurisdiction: tuple[str, ...]


@dataclass(frozen=True)
class UserView:
    """A user with what an administrator needs beside the row."""

    user: User
    department: Department | None
    assignments: tuple[AssignmentView, ...]
    locked: bool
    mfa_enrolled: bool


@dataclass(frozen=True)
class UserPage:
    items: list[UserView]
    total: int


def get_user(session: Session, *, user_id: uuid.UUID) -> User:
    """The user with ``user_id``, or ``NotFound``."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def find_user(session: Session, *, username: str) -> User:
    """The user called ``username``, or ``NotFound``."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def _views(session: Session, users: Sequence[User]) -> list[UserView]:
    """Views of ``users`` in three queries, whatever their number."""
    ids = [user.id for user in users]
    # The department table is small (hundreds of rows): one read serves every lookup.
    departments = {d.id: d for d in session.scalars(select(Department))}
    held: dict[uuid.UUID, list[AssignmentView]] = {}
    for assignment, role in session.execute(
        select(RoleAssignment, Role)
        .join(Role, Role.code == RoleAssignment.role)
        .where(RoleAssignment.user_id.in_(ids))
        .order_by(RoleAssignment.role, RoleAssignment.created_at)
    ):
        held.setdefault(assignment.user_id, []).append(
            AssignmentView(
                id=assignment.id,
                role=role.code,
                name_zh=role.name_zh,
                name_en=role.name_en,
                scope=Scope(role.scope),
                department_code=departments[assignment.department_id].code
                if assignment.department_id
                else None,
                jurisdiction=tuple(str(code) for code in assignment.jurisdiction),
            )
        )
    enrolled = set(
        session.scalars(
            select(TotpCredential.user_id).where(
                TotpCredential.user_id.in_(ids), TotpCredential.confirmed_at.is_not(None)
            )
        )
    )
    now = utcnow()
    return [
        UserView(
            user=user,
            department=departments.get(user.department_id) if user.department_id else None,
            assignments=tuple(held.get(user.id, ())),
            locked=_locked(user.locked_until, now),
            mfa_enrolled=user.id in enrolled,
        )
        for user in users
    ]


def _locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


def user_view(session: Session, *, user: User) -> UserView:
    """``user`` with department, role assignments, lock and MFA state."""
    return _views(session, [user])[0]


def list_users(
    session: Session,
    *,
    q: str | None = None,
    department_code: str | None = None,
    role: str | None = None,
    kind: UserKind | None = None,
    limit: int = 50,
    offset: int = 0,
) -> UserPage:
    """Users by username order, with the total that match.

    ``q`` matches username or display name (or, if it reads as a mobile number, the phone
    by its blind index); ``department_code`` includes its sub-departments.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"must be between 1 and {MAX_LIMIT}", "range")
    if offset < 0:
        raise _invalid("offset", "must not be negative", "range")
    conditions: list[ColumnElement[bool]] = []
    text = (q or "").strip()
    if text:
        matches = [
            User.username.icontains(text, autoescape=True),
            User.display_name.icontains(text, autoescape=True),
        ]
        # Text that reads as a mobile number also finds its holder, through the blind index.
        with contextlib.suppress(ValueError):
            matches.append(User.phone_bidx == blind_index("mobile", normalise_mobile(text)))
        conditions.append(or_(*matches))
    if department_code:
        department = _department_ref(session, department_code, "department")
        conditions.append(User.department_id.in_(department_subtree_ids(session, department)))
    if role:
        holders = select(RoleAssignment.user_id).where(RoleAssignment.role == role)
        conditions.append(User.id.in_(holders))
    if kind is not None:
        conditions.append(User.kind == kind)
    total = session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    users = session.scalars(
        select(User).where(*conditions).order_by(User.username, User.id).limit(limit).offset(offset)
    ).all()
    return UserPage(items=_views(session, users), total=total)


def _phone(value: str) -> tuple[str, str]:
    try:
        phone = normalise_mobile(value)
    except ValueError as exc:
        raise _invalid("phone", str(exc), "pattern") from None
    return phone, blind_index("mobile", phone)


def create_user(
    session: Session,
    *,
    audit: Audit,
    settings: Settings,
    username: str,
    display_name: str,
    kind: UserKind = UserKind.STAFF,
    department_code: str | None = None,
    phone: str | None = None,
    password: str | None = None,
) -> User:
    """A new active user; the phone is sealed and indexed, the password policy-checked."""
    if not USERNAME.match(username):
        raise _invalid(
            "username", "lower-case letter first, then letters, digits, _ . -; 3–64 long"
        )
    if not display_name.strip():
        raise _invalid("display_name", "must not be empty", "missing")
    if session.scalars(select(User.id).where(User.username == username)).first():
        raise Conflict(f"username {username!r} is taken", code="username_taken")
    department = (
        _department_ref(session, department_code, "department_code") if department_code else None
    )
    user = User(
        username=username,
        display_name=display_name.strip(),
        kind=kind,
        department_id=department.id if department else None,
    )
    if phone:
        user.phone, user.phone_bidx = _phone(phone)
        if session.scalars(select(User.id).where(User.phone_bidx == user.phone_bidx)).first():
            raise Conflict("another user has this phone number", code="phone_taken")
    session.add(user)
    session.flush()
    audit.record(
        session,
        action="identity.user_create",
        target_type="user",
        target_id=str(user.id),
        details={
            "kind": str(kind),
            "department": department_code,
            "phone": user.phone is not None,
            "password": password is not None,
        },
    )
    if password is not None:
        set_password(session, user=user, password=password, actor=audit.actor, settings=settings)
    return user


def update_user(
    session: Session,
    *,
    audit: Audit,
    user: User,
    display_name: str | _Keep = KEEP,
    department_code: str | _Keep | None = KEEP,
    active: bool | _Keep = KEEP,
) -> User:
    """Change a user's display name, department or whether they may sign in."""
    changes: dict[str, Any] = {}
    if not isinstance(display_name, _Keep):
        if not display_name.strip():
            raise _invalid("display_name", "must not be empty", "missing")
        changes["display_name"] = display_name.strip()
    if not isinstance(department_code, _Keep):
        changes["department_id"] = (
            _department_ref(session, department_code, "department_code").id
            if department_code
            else None
        )
    if not isinstance(active, _Keep):
        if not active and user.username == audit.actor:
            raise _invalid("active", "you cannot disable your own account", "self")
        changes["active"] = active
    changed = sorted(k for k, v in changes.items() if getattr(user, k) != v)
    for key in changed:
        setattr(user, key, changes[key])
    session.flush()
    if changed:
        details: dict[str, Any] = {"changed": changed}
        if "department_id" in changed:
            details["department"] = department_code
        if "active" in changed:
            details["active"] = user.active
        audit.record(
            session,
            action="identity.user_update",
            target_type="user",
            target_id=str(user.id),
            details=details,
        )
    return user


# --- roles and assignments -------------------------------------------------------------


@dataclass(frozen=True)
class RoleListing:
    role: Role
    holders: int


def list_roles(session: Session) -> list[RoleListing]:
    """Every role with the number of active users holding it."""
    counts = dict(
        session.execute(
            select(RoleAssignment.role, func.count(func.distinct(RoleAssignment.user_id)))
            .join(User, User.id == RoleAssignment.user_id)
            .where(User.active.is_(True))
            .group_by(RoleAssignment.role)
        ).all()
    )
    return [
        RoleListing(role, int(counts.get(role.code, 0)))
        for role in session.scalars(select(Role).order_by(Role.code))
    ]


def ensure_may_grant(
    session: Session, *, granter: Actor, role: str, declared: Iterable[str]
) -> None:
    """Refuse handing out (or taking away) a role that can do what the granter cannot."""
    found = session.get(Role, role)
    if found is None:
        return
    beyond = expand(found.permissions, declared) - granter.permissions
    if beyond:
        raise PermissionDenied(
            f"role {role} grants permissions you do not hold: {', '.join(sorted(beyond))}"
        )


def _check_jurisdiction(session: Session, jurisdiction: Sequence[str]) -> list[str]:
    regions = list(dict.fromkeys(code.strip() for code in jurisdiction))
    bad = [code for code in regions if not REGION_CODE.match(code)]
    if bad:
        raise _invalid(
            "jurisdiction",
            f"not Luohu region codes (440303 and 3, 6 or 9 more digits): {', '.join(bad)}",
            "pattern",
        )
    # Imported here: geo's routes import identity, so a module-level import would be a cycle.
    from cityos.foundation.geo.models import Region

    if regions and session.scalars(select(Region.code).limit(1)).first() is not None:
        known = set(session.scalars(select(Region.code).where(Region.code.in_(regions))))
        unknown = [code for code in regions if code not in known]
        if unknown:
            raise _invalid("jurisdiction", f"no such region: {', '.join(unknown)}", "unknown")
    return regions


def assign_role(
    session: Session,
    *,
    audit: Audit,
    user: User,
    role: str,
    department_code: str | None = None,
    jurisdiction: Sequence[str] = (),
) -> RoleAssignment:
    """Give ``user`` ``role`` for a department over regions; a jurisdiction-scoped role
    needs at least one region, or it would reach nothing."""
    found = session.get(Role, role)
    if found is None:
        raise _invalid("role", f"no role {role!r}", "unknown")
    department = (
        _department_ref(session, department_code, "department_code") if department_code else None
    )
    regions = _check_jurisdiction(session, jurisdiction)
    if Scope(found.scope) is Scope.JURISDICTION and not regions:
        raise _invalid("jurisdiction", f"role {role} reaches only the regions it is given")
    department_id = department.id if department else None
    for held in session.scalars(
        select(RoleAssignment).where(RoleAssignment.user_id == user.id, RoleAssignment.role == role)
    ):
        if held.department_id == department_id and sorted(held.jurisdiction) == sorted(regions):
            raise Conflict(f"{user.username} already holds {role} there", code="assignment_exists")
    assignment = RoleAssignment(
        user_id=user.id, role=role, department_id=department_id, jurisdiction=regions
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session,
        action="identity.role_assign",
        target_type="user",
        target_id=str(user.id),
        details={
            "assignment": str(assignment.id),
            "role": role,
            "department": department_code,
            "jurisdiction": regions,
        },
    )
    return assignment


def get_assignment(session: Session, *, user: User, assignment_id: uuid.UUID) -> RoleAssignment:
    """``user``'s assignment ``assignment_id``, or ``NotFound``."""
    assignment = session.get(RoleAssignment, assignment_id)
    if assignment is None or assignment.user_id != user.id:
        raise NotFound(f"{user.username} has no role assignment {assignment_id}")
    return assignment


def remove_assignment(session: Session, *, audit: Audit, assignment: RoleAssignment) -> None:
    """Take a role assignment away."""
    details: dict[str, Any] = {
        "assignment": str(assignment.id),
        "role": assignment.role,
        "jurisdiction": [str(code) for code in assignment.jurisdiction],
    }
    user_id = assignment.user_id
    session.delete(assignment)
    session.flush()
    audit.record(
        session,
        action="identity.role_unassign",
        target_type="user",
        target_id=str(user_id),
        details=details,
    )


def assignment_view(session: Session, *, assignment: RoleAssignment) -> AssignmentView:
    """An assignment with its role's names and its department's code."""
    role = session.get(Role, assignment.role)
    assert role is not None
    department = (
        session.get(Department, assignment.department_id) if assignment.department_id else None
    )
    return AssignmentView(
        id=assignment.id,
        role=role.code,
        name_zh=role.name_zh,
        name_en=role.name_en,
        scope=Scope(role.scope),
        department_code=department.code if department else None,
        jurisdiction=tuple(str(code) for code in assignment.jurisdiction),
    )
