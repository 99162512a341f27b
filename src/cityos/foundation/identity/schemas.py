"""Pydantic shapes of the identity API: what administrators send and what they are shown.

Requests check types and sizes; the services check meaning (a known department, a region
code of the district), so the command line gets the same answers as the API.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from cityos.foundation.identity.models import Scope, UserKind
from cityos.foundation.identity.profile import DepartmentKind


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- answers ---------------------------------------------------------------------------


class DepartmentRef(BaseModel):
    code: str
    name_zh: str
    name_en: str


class AssignmentOut(BaseModel):
    id: uuid.UUID
    role: str
    name_zh: str
    name_en: str
    scope: Scope
    department_code: str | None
    jurisdiction: list[str]


class MfaOut(BaseModel):
    enrolled: bool
    required: bool


class MeOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    kind: UserKind
    department: DepartmentRef | None
    roles: list[AssignmentOut]
    permissions: list[str]
    mfa: MfaOut


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    kind: UserKind
    department_code: str | None
    # Masked (138****1234): lists are for finding people, not for reading their numbers.
    phone: str | None
    active: bool
    locked: bool
    mfa_enrolled: bool
    roles: list[AssignmentOut]


class UserList(BaseModel):
    items: list[UserOut]
    total: int


class DepartmentNodeOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: str
    region_code: str | None
    sort: int
    children: list[DepartmentNodeOut]


class RoleOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    scope: Scope
    permissions: list[str]
    mfa_required: bool
    holders: int


class PermissionOut(BaseModel):
    name: str
    zh: str
    en: str


class ClientOut(BaseModel):
    client_id: str
    name_zh: str
    name_en: str
    confidential: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    user_id: uuid.UUID | None
    first_party: bool
    from_profile: bool
    active: bool


class IssuedClientOut(ClientOut):
    # Shown once, in this answer only; kept as a hash.
    client_secret: str | None


class ClientSecretOut(BaseModel):
    client_id: str
    client_secret: str


# --- requests --------------------------------------------------------------------------


class UserCreate(_Request):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    kind: UserKind = UserKind.STAFF
    department_code: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    password: str | None = Field(default=None, max_length=256)


class UserUpdate(_Request):
    """Only the fields sent change; ``department_code: null`` takes the user out of theirs."""

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    department_code: str | None = Field(default=None, max_length=64)
    active: bool | None = None


class PasswordSet(_Request):
    password: str = Field(max_length=256)


class AssignmentCreate(_Request):
    role: str = Field(min_length=1, max_length=64)
    department_code: str | None = Field(default=None, max_length=64)
    jurisdiction: list[str] = Field(default_factory=list, max_length=100)


class DepartmentCreate(_Request):
    code: str = Field(min_length=1, max_length=64)
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=200)
    kind: DepartmentKind
    parent_code: str | None = Field(default=None, max_length=64)
    region_code: str | None = Field(default=None, max_length=15)
    sort: int | None = None


class DepartmentUpdate(_Request):
    """Only the fields sent change; ``parent_code: null`` makes it a root."""

    name_zh: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    kind: DepartmentKind | None = None
    parent_code: str | None = Field(default=None, max_length=64)
    region_code: str | None = Field(default=None, max_length=15)
    sort: int | None = None


class ClientCreate(_Request):
    client_id: str = Field(min_length=1, max_length=64)
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=200)
    confidential: bool = False
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    grant_types: list[str] = Field(
        default_factory=lambda: ["authorization_code", "refresh_token"], max_length=3
    )
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile"], max_length=50)
    # The system account a client-credentials client acts as.
    user: str | None = Field(default=None, max_length=64)
    first_party: bool = False
