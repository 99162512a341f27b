"""The organisation and its people.

The skeleton holds the department tree and user accounts; roles, jurisdictions, sign-in
and MFA are built on these by the unified-identity work.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.db import Base, IdMixin, TimestampMixin


class UserKind(StrEnum):
    STAFF = "staff"
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    SYSTEM = "system"


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
    """A person or system that signs in."""

    __tablename__ = "app_user"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[UserKind] = mapped_column(String(16))
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    is_demo: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
