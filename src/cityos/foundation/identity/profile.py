"""The identity parts of a profile: ``roles.yaml`` (roles as data, checked against the
permissions the modules declare) and ``departments.yaml`` (the organisation tree and demo
accounts, each account's roles becoming role assignments over a jurisdiction)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import (
    Department,
    Role,
    RoleAssignment,
    Scope,
    User,
    UserKind,
)
from cityos.foundation.identity.permissions import PATTERN, expand, is_glob
from cityos.foundation.identity.service import demo_password, hash_password
from cityos.kernel.i18n import LocalizedText
from cityos.kernel.profiles import ProfileDocuments, ProfileIssue
from cityos.kernel.registry import ProfileSection, get_registry
from cityos.settings import Mode

if TYPE_CHECKING:
    from cityos.kernel.profiles import ProfileContext

RegionCode = Annotated[str, Field(pattern=r"^440303(\d{3}){0,3}$")]

ROLE_CODE = r"^[a-z][a-z0-9-]{1,63}$"


class RoleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ROLE_CODE)
    name: LocalizedText
    permissions: list[str] = Field(default_factory=list)
    scope: Scope
    # Holders must sign in with a second factor (TOTP) in production mode.
    mfa_required: bool = False


class RolesFile(BaseModel):
    """``roles.yaml``."""

    model_config = ConfigDict(extra="forbid")

    roles: list[RoleEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> RolesFile:
        ids = [role.id for role in self.roles]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"role ids used twice: {', '.join(duplicates)}")
        return self


def _check_roles(documents: ProfileDocuments) -> list[ProfileIssue]:
    """Every permission a role names is declared by a module; every glob matches one."""
    declared = get_registry().permissions()
    issues: list[ProfileIssue] = []
    for file in documents.files:
        assert isinstance(file.document, RolesFile)
        for r, role in enumerate(file.document.roles):
            for p, permission in enumerate(role.permissions):
                where = ("roles", r, "permissions", p)
                fault = None
                if not PATTERN.match(permission):
                    fault = f"malformed permission {permission!r}"
                elif is_glob(permission) and not expand([permission], declared):
                    fault = f"{permission!r} matches no declared permission"
                elif not is_glob(permission) and permission not in declared:
                    fault = f"unknown permission {permission!r}"
                if fault:
                    issues.append(
                        ProfileIssue(file.relative, file.line_of(where), f"{role.id}", fault)
                    )
    return issues


def _load_roles(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    (document,) = documents
    assert isinstance(document, RolesFile)
    existing = {r.code: r for r in session.scalars(select(Role))}
    for entry in document.roles:
        values: dict[str, Any] = {
            "name_zh": entry.name.zh,
            "name_en": entry.name.en,
            "permissions": list(entry.permissions),
            "scope": entry.scope,
            "mfa_required": entry.mfa_required,
        }
        role = existing.pop(entry.id, None)
        if role is None:
            session.add(Role(code=entry.id, **values))
            context.count("roles")
        elif any(getattr(role, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(role, key, value)
            context.count("roles")
    if existing:
        # A role the profile no longer has is taken from everyone who held it.
        gone = list(existing)
        session.execute(delete(RoleAssignment).where(RoleAssignment.role.in_(gone)))
        session.execute(delete(Role).where(Role.code.in_(gone)))
        context.count("roles_removed", len(gone))
    session.flush()


roles_section = ProfileSection(
    name="roles",
    files=("roles.yaml",),
    schema=RolesFile,
    load=_load_roles,
    order=5,
    check=_check_roles,
)


DepartmentKind = Literal[
    "government", "bureau", "agency", "centre", "subdistrict-office", "community-station"
]


class DepartmentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    name: LocalizedText
    kind: DepartmentKind
    region: str | None = Field(default=None, pattern=r"^440303(\d{3}){0,3}$")
    children: list[DepartmentEntry] = Field(default_factory=list)


class DemoAccountEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=r"^[a-z][a-z0-9_.-]{2,63}$")
    name: str
    kind: UserKind = UserKind.STAFF
    department: str | None = None
    roles: list[str] = Field(min_length=1)
    jurisdiction: list[RegionCode] | None = None


class DepartmentsFile(BaseModel):
    """``departments.yaml``."""

    model_config = ConfigDict(extra="forbid")

    departments: list[DepartmentEntry] = Field(min_length=1)
    demo_accounts: list[DemoAccountEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DepartmentsFile:
        codes = [entry.code for entry, _ in walk(self.departments)]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"department codes used twice: {', '.join(duplicates)}")
        names = [a.username for a in self.demo_accounts]
        if len(names) != len(set(names)):
            raise ValueError("demo account usernames must be unique")
        unknown = sorted(
            {a.department for a in self.demo_accounts if a.department and a.department not in codes}
        )
        if unknown:
            raise ValueError(f"demo accounts name unknown departments: {', '.join(unknown)}")
        return self


def walk(
    entries: list[DepartmentEntry], parent: str | None = None
) -> Iterator[tuple[DepartmentEntry, str | None]]:
    """Each department with its parent's code, parents before children."""
    for entry in entries:
        yield entry, parent
        yield from walk(entry.children, entry.code)


def _upsert_departments(session: Session, context: ProfileContext, doc: DepartmentsFile) -> None:
    existing = {d.code: d for d in session.scalars(select(Department))}
    for sort, (entry, parent_code) in enumerate(walk(doc.departments)):
        parent_id = existing[parent_code].id if parent_code else None
        values: dict[str, Any] = {
            "name_zh": entry.name.zh,
            "name_en": entry.name.en,
            "kind": entry.kind,
            "region_code": entry.region,
            "parent_id": parent_id,
            "sort": sort,
        }
        department = existing.get(entry.code)
        if department is None:
            department = Department(code=entry.code, **values)
            session.add(department)
            session.flush()
            existing[entry.code] = department
            context.count("departments")
        elif any(getattr(department, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(department, key, value)
            context.count("departments")


def _default_jurisdiction(department: str | None, doc: DepartmentsFile) -> list[str]:
    """The region of the department, or of its nearest ancestor that has one."""
    parents = {entry.code: (entry, parent) for entry, parent in walk(doc.departments)}
    code = department
    while code is not None:
        entry, parent = parents[code]
        if entry.region:
            return [entry.region]
        code = parent
    return []


def _assign_roles(
    session: Session, user: User, entry: DemoAccountEntry, doc: DepartmentsFile
) -> bool:
    jurisdiction = (
        list(entry.jurisdiction)
        if entry.jurisdiction is not None
        else _default_jurisdiction(entry.department, doc)
    )
    wanted = {(role, user.department_id, tuple(jurisdiction)) for role in entry.roles}
    held = list(session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == user.id)))
    if {(a.role, a.department_id, tuple(a.jurisdiction)) for a in held} == wanted:
        return False
    for assignment in held:
        session.delete(assignment)
    session.flush()
    for role, department_id, regions in sorted(wanted, key=lambda w: w[0]):
        session.add(
            RoleAssignment(
                user_id=user.id, role=role, department_id=department_id, jurisdiction=list(regions)
            )
        )
    return True


def _upsert_demo_accounts(session: Session, context: ProfileContext, doc: DepartmentsFile) -> None:
    if context.settings.mode is Mode.PRODUCTION:
        # No default passwords in production: demo accounts are never created there.
        context.summary["demo_accounts_skipped"] = len(doc.demo_accounts)
        return
    departments = {d.code: d.id for d in session.scalars(select(Department))}
    users = {u.username: u for u in session.scalars(select(User).where(User.is_demo.is_(True)))}
    for entry in doc.demo_accounts:
        values: dict[str, Any] = {
            "display_name": entry.name,
            "kind": entry.kind,
            "department_id": departments.get(entry.department) if entry.department else None,
        }
        user = users.get(entry.username)
        changed = False
        if user is None:
            password = demo_password(context.settings, entry.username)
            user = User(
                username=entry.username,
                password_hash=hash_password(password),
                is_demo=True,
                **values,
            )
            session.add(user)
            session.flush()
            changed = True
        elif any(getattr(user, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(user, key, value)
            changed = True
        if _assign_roles(session, user, entry, doc) or changed:
            context.count("demo_accounts")


def _load(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    (document,) = documents
    assert isinstance(document, DepartmentsFile)
    _upsert_departments(session, context, document)
    _upsert_demo_accounts(session, context, document)


def _check_departments(documents: ProfileDocuments) -> list[ProfileIssue]:
    """Demo accounts hold only roles that ``roles.yaml`` defines."""
    roles_files = documents.earlier.get("roles")
    if not roles_files:
        return []
    known = {
        role.id
        for file in roles_files
        if isinstance(file.document, RolesFile)
        for role in file.document.roles
    }
    issues: list[ProfileIssue] = []
    for file in documents.files:
        assert isinstance(file.document, DepartmentsFile)
        for a, account in enumerate(file.document.demo_accounts):
            for r, role in enumerate(account.roles):
                if role not in known:
                    where = ("demo_accounts", a, "roles", r)
                    issues.append(
                        ProfileIssue(
                            file.relative,
                            file.line_of(where),
                            account.username,
                            f"unknown role {role!r} (not in roles.yaml)",
                        )
                    )
    return issues


departments_section = ProfileSection(
    name="departments",
    files=("departments.yaml",),
    schema=DepartmentsFile,
    load=_load,
    order=10,
    check=_check_departments,
)
