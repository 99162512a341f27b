"""Identity services the skeleton needs: demo passwords and the demo account list."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import Department, RoleAssignment, User
from cityos.settings import Mode, Settings

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _hasher.hash(password)


def demo_password(settings: Settings, username: str) -> str:
    """The demo password of ``username``: derived from this installation's demo secret.

    Nothing stores it in clear; ``make run`` derives it again to print it. Production
    mode has no demo passwords at all.
    """
    if settings.mode is Mode.PRODUCTION:
        raise RuntimeError("demo passwords do not exist in production mode")
    digest = hmac.new(
        settings.secret_key_value().encode(), f"demo-account:{username}".encode(), hashlib.sha256
    ).digest()
    return "Lh-" + base64.b32encode(digest).decode()[:10].lower()


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    display_name: str
    department: str
    roles: tuple[str, ...]


def demo_accounts(session: Session, settings: Settings) -> list[DemoAccount]:
    """The demo accounts of this installation with their passwords (demo mode only)."""
    if settings.mode is Mode.PRODUCTION:
        return []
    rows = session.execute(
        select(User, Department.name_zh)
        .outerjoin(Department, User.department_id == Department.id)
        .where(User.is_demo.is_(True), User.active.is_(True))
        .order_by(User.username)
    ).all()
    roles: dict[object, list[str]] = {}
    for user_id, role in session.execute(
        select(RoleAssignment.user_id, RoleAssignment.role).order_by(RoleAssignment.role)
    ):
        roles.setdefault(user_id, []).append(role)
    return [
        DemoAccount(
            username=user.username,
            password=demo_password(settings, user.username),
            display_name=user.display_name,
            department=department or "",
            roles=tuple(roles.get(user.id, ())),
        )
        for user, department in rows
    ]
