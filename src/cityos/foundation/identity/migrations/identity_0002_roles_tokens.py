"""roles, role assignments with jurisdictions, signing keys and revoked tokens

``app_user.roles`` (a JSON list) becomes ``role_assignment`` rows. Roles named there get
a placeholder row with no permissions and ``own`` scope (least privilege) until the
profile's ``roles.yaml`` is loaded, which fills them in.

Revision ID: identity_0002
Revises: identity_0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op

from cityos.kernel.clock import utcnow
from cityos.kernel.db import UtcDateTime
from cityos.kernel.ids import new_id

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _roles(value: Any) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value)
    return [str(role) for role in value or []]


def _uuid(value: Any) -> uuid.UUID | None:
    # Raw SQL hands back SQLite's hex text and PostgreSQL's UUID alike.
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _move_roles_to_assignments() -> None:
    connection = op.get_bind()
    users = connection.execute(
        sa.text(
            "SELECT u.id, u.roles, u.department_id, d.region_code FROM app_user u "
            "LEFT JOIN department d ON d.id = u.department_id"
        )
    ).all()
    role = sa.table(
        "role",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("permissions", sa.JSON),
        sa.column("scope", sa.String),
        sa.column("created_at", UtcDateTime()),
        sa.column("updated_at", UtcDateTime()),
    )
    assignment = sa.table(
        "role_assignment",
        sa.column("id", sa.Uuid),
        sa.column("user_id", sa.Uuid),
        sa.column("role", sa.String),
        sa.column("department_id", sa.Uuid),
        sa.column("jurisdiction", sa.JSON),
        sa.column("created_at", UtcDateTime()),
        sa.column("updated_at", UtcDateTime()),
    )
    now = utcnow()
    codes = sorted({code for row in users for code in _roles(row.roles)})
    if codes:
        op.bulk_insert(
            role,
            [
                {
                    "code": code,
                    "name_zh": code,
                    "name_en": code,
                    "permissions": [],
                    "scope": "own",
                    "created_at": now,
                    "updated_at": now,
                }
                for code in codes
            ],
        )
    rows = [
        {
            "id": new_id(),
            "user_id": _uuid(row.id),
            "role": code,
            "department_id": _uuid(row.department_id),
            "jurisdiction": [row.region_code] if row.region_code else [],
            "created_at": now,
            "updated_at": now,
        }
        for row in users
        for code in _roles(row.roles)
    ]
    if rows:
        op.bulk_insert(assignment, rows)


def upgrade() -> None:
    op.create_table(
        "role",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("code", name="pk_role"),
    )
    op.create_table(
        "role_assignment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("jurisdiction", sa.JSON(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_role_assignment"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_role_assignment_user_id_app_user"
        ),
        sa.ForeignKeyConstraint(["role"], ["role.code"], name="fk_role_assignment_role_role"),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name="fk_role_assignment_department_id_department",
        ),
    )
    op.create_index("ix_role_assignment_user_id", "role_assignment", ["user_id"])
    op.create_index("ix_role_assignment_role", "role_assignment", ["role"])
    op.create_table(
        "signing_key",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("retired_at", UtcDateTime(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_key"),
    )
    op.create_index("ix_signing_key_status", "signing_key", ["status"])
    op.create_table(
        "revoked_token",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_revoked_token"),
    )
    op.create_index("ix_revoked_token_expires_at", "revoked_token", ["expires_at"])
    _move_roles_to_assignments()
    # Not batch mode: on SQLite that rebuilds app_user, which the foreign keys now pointing
    # at it forbid. A plain DROP COLUMN works on both (SQLite 3.35+).
    op.execute("ALTER TABLE app_user DROP COLUMN roles")


def downgrade() -> None:
    op.add_column("app_user", sa.Column("roles", sa.JSON(), nullable=False, server_default="[]"))
    op.drop_index("ix_revoked_token_expires_at", table_name="revoked_token")
    op.drop_table("revoked_token")
    op.drop_index("ix_signing_key_status", table_name="signing_key")
    op.drop_table("signing_key")
    op.drop_index("ix_role_assignment_role", table_name="role_assignment")
    op.drop_index("ix_role_assignment_user_id", table_name="role_assignment")
    op.drop_table("role_assignment")
    op.drop_table("role")
