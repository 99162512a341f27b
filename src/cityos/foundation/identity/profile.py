"""The ``departments.yaml`` part of a profile: the organisation tree and demo accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import Department, User, UserKind
from cityos.foundation.identity.service import demo_password, hash_password
from cityos.kernel.i18n import LocalizedText
from cityos.kernel.registry import ProfileSection

if TYPE_CHECKING:
    from cityos.kernel.profiles import ProfileContext
from cityos.settings import Mode

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
            "roles": list(entry.roles),
        }
        user = users.get(entry.username)
        if user is None:
            password = demo_password(context.settings, entry.username)
            session.add(
                User(
                    username=entry.username,
                    password_hash=hash_password(password),
                    is_demo=True,
                    **values,
                )
            )
            context.count("demo_accounts")
        elif any(getattr(user, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(user, key, value)
            context.count("demo_accounts")


def _load(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    (document,) = documents
    assert isinstance(document, DepartmentsFile)
    _upsert_departments(session, context, document)
    _upsert_demo_accounts(session, context, document)


departments_section = ProfileSection(
    name="departments",
    files=("departments.yaml",),
    schema=DepartmentsFile,
    load=_load,
    order=10,
)
