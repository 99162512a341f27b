"""The organisation, its people, their roles and the keys that sign their tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base, IdMixin, TimestampMixin


class UserKind(StrEnum):
    STAFF = "staff"
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    SYSTEM = "system"


class Scope(StrEnum):
    """How far a role's permissions reach: the whole district, the assignment's regions
    (and department), or only the holder's own records."""

    DISTRICT = "district"
    JURISDICTION = "jurisdiction"
    OWN = "own"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Department(IdMixin, TimestampMixin, Base):
    """A unit of the district government (局, 街道办事处, 社区工作站 …)."""

    __tablename__ = "department"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(String(15))
    sort: Mapped[int] = mapped_column(default=0)


class User(IdMixin, TimestampMixin, Base):
    """A person or system that signs in; what they may do comes from ``RoleAssignment``."""

    __tablename__ = "app_user"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[UserKind] = mapped_column(String(16))
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_demo: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Role(TimestampMixin, Base):
    """A role of the profile's ``roles.yaml``: permission patterns (``geo.*``) and a scope."""

    __tablename__ = "role"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    permissions: Mapped[list[Any]] = mapped_column(default=list)
    scope: Mapped[Scope] = mapped_column(String(16))


class RoleAssignment(IdMixin, TimestampMixin, Base):
    """A user holds a role for a department, over a jurisdiction (region code prefixes)."""

    __tablename__ = "role_assignment"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(ForeignKey("role.code"), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"))
    jurisdiction: Mapped[list[Any]] = mapped_column(default=list)


class SigningKey(Base):
    """A key that signs bearer (and, later, OIDC) tokens; the private half encrypted at rest.

    Retired keys no longer sign but stay published in the JWKS until ``expires_at``, so
    tokens they signed keep verifying until those tokens expire.
    """

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_key: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[KeyStatus] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()


class RevokedToken(Base):
    """A token refused before its expiry; rows can be purged once ``expires_at`` has passed."""

    __tablename__ = "revoked_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(IdMixin, Base):
    """A key a device or system sends instead of a bearer token, on behalf of its owner.

    Only a keyed hash of the key is kept; ``prefix`` (part of the key itself) finds the row
    and is what people see. ``scopes`` (permission patterns) narrow what the owner may do.
    """

    __tablename__ = "api_key"

    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
