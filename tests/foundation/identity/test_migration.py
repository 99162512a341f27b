"""identity_0002 turns ``app_user.roles`` into role assignments over the user's region."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import text

from cityos.kernel import migrate
from cityos.kernel.clock import utcnow
from cityos.kernel.db import make_engine
from cityos.kernel.registry import Registry


def test_user_roles_become_least_privilege_assignments(tmp_path: Path, registry: Registry) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(migrate.alembic_config(engine, registry), "identity_0001")
    department, user = uuid.uuid4(), uuid.uuid4()
    now = utcnow().isoformat()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO department (id, code, name_zh, name_en, kind, region_code, sort, "
                "created_at, updated_at) VALUES (:id, 'dongmen', '东门', 'Dongmen', "
                "'subdistrict-office', '440303003', 0, :now, :now)"
            ),
            {"id": department.hex, "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO app_user (id, username, display_name, kind, department_id, roles, "
                "is_demo, active, created_at, updated_at) VALUES (:id, 'old', 'Old', 'staff', "
                ":department, :roles, 0, 1, :now, :now)"
            ),
            {
                "id": user.hex,
                "department": department.hex,
                "roles": json.dumps(["grid-inspector"]),
                "now": now,
            },
        )
    migrate.upgrade(engine, registry)
    with engine.connect() as connection:
        role = connection.execute(text("SELECT code, permissions, scope FROM role")).one()
        assignment = connection.execute(
            text("SELECT user_id, role, jurisdiction FROM role_assignment")
        ).one()
    assert tuple(role) == ("grid-inspector", "[]", "own")
    assert uuid.UUID(assignment.user_id) == user
    assert assignment.role == "grid-inspector"
    assert json.loads(assignment.jurisdiction) == ["440303003"]
    engine.dispose()
