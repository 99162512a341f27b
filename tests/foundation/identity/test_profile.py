"""Roles as data: ``roles.yaml`` checked against declared permissions, demo accounts turned
into role assignments over their jurisdictions."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.identity import demo_accounts, load_actor
from cityos.foundation.identity.models import RoleAssignment, User
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.settings import Settings

LUOHU = profiles.PROFILES_DIR / "luohu"


def identity_profile(tmp_path: Path, roles: str | None = None, accounts: str = "") -> Path:
    """A copy of Luohu's district and departments with the given roles.yaml."""
    root = tmp_path / "profile"
    root.mkdir(parents=True)
    shutil.copy(LUOHU / "district.yaml", root / "district.yaml")
    departments = (LUOHU / "departments.yaml").read_text(encoding="utf-8")
    if accounts:
        departments = departments.split("demo_accounts:")[0] + "demo_accounts:\n" + accounts
    (root / "departments.yaml").write_text(departments, encoding="utf-8")
    text = roles if roles is not None else (LUOHU / "roles.yaml").read_text(encoding="utf-8")
    (root / "roles.yaml").write_text(text, encoding="utf-8")
    return root


def identity_issues(root: Path, registry: Registry) -> list[str]:
    return [
        str(i)
        for i in profiles.validate(root, registry)
        if i.file in {"roles.yaml", "departments.yaml"}
    ]


def test_the_shipped_roles_are_valid(tmp_path: Path, registry: Registry) -> None:
    assert identity_issues(identity_profile(tmp_path), registry) == []


def test_unknown_permissions_are_named_with_file_and_line(
    tmp_path: Path, registry: Registry
) -> None:
    roles = (
        "roles:\n"
        "  - id: clerk\n"
        "    name: {zh: 办事员, en: Clerk}\n"
        "    permissions:\n"
        "      - identity.profile.read\n"
        "      - identity.nonsense\n"
        '      - "nowhere.*"\n'
        "      - Bad Name\n"
        "    scope: own\n"
        "  - id: boss\n"
        "    name: {zh: 领导, en: Boss}\n"
        "    permissions: []\n"
        "    scope: galaxy\n"
    )
    issues = identity_issues(identity_profile(tmp_path, roles), registry)
    assert "roles.yaml:13 [roles.1.scope]" in issues[0]
    # The permission check runs once the schema passes; fix the scope and look again.
    issues = identity_issues(
        identity_profile(tmp_path / "again", roles.replace("galaxy", "district")), registry
    )
    assert issues == [
        "roles.yaml:6 [clerk]: unknown permission 'identity.nonsense'",
        "roles.yaml:7 [clerk]: 'nowhere.*' matches no declared permission",
        "roles.yaml:8 [clerk]: malformed permission 'Bad Name'",
    ]


def test_demo_accounts_may_hold_only_defined_roles(tmp_path: Path, registry: Registry) -> None:
    accounts = "  - {username: admin, name: 管理员, roles: [platform-admin, wizard]}\n"
    issues = identity_issues(identity_profile(tmp_path, accounts=accounts), registry)
    assert len(issues) == 1
    assert issues[0].startswith("departments.yaml:")
    assert "[admin]: unknown role 'wizard' (not in roles.yaml)" in issues[0]


def test_loading_gives_demo_accounts_assignments_over_their_jurisdiction(
    session: Session, registry: Registry, settings: Settings
) -> None:
    profiles.load(session, root=profiles.resolve("luohu"), registry=registry, settings=settings)
    users = {u.username: u for u in session.scalars(select(User))}

    def held(name: str) -> list[tuple[str, list[str]]]:
        rows = session.scalars(
            select(RoleAssignment).where(RoleAssignment.user_id == users[name].id)
        )
        return sorted((a.role, list(a.jurisdiction)) for a in rows)

    assert held("inspector") == [("grid-inspector", ["440303003"])]
    assert held("handler") == [("handler", ["440303"])]
    assert held("admin") == [("platform-admin", ["440303"])]
    assert held("citizen") == [("citizen", [])]
    admin = load_actor(session, user_id=users["admin"].id, declared=registry.permissions())
    assert admin is not None
    assert admin.permissions == frozenset(registry.permissions())
    citizen = load_actor(session, user_id=users["citizen"].id, declared=registry.permissions())
    assert citizen is not None
    assert citizen.permissions == {
        "identity.profile.read",
        "cases.create",
        "cases.read",
        "cases.act",
        "files.upload",
        "notify.read",
    }
    accounts = {a.username: a.roles for a in demo_accounts(session, settings)}
    assert accounts["operator"] == ("dispatcher", "hotline-operator")


def test_reloading_changes_no_assignment(
    session: Session, registry: Registry, settings: Settings
) -> None:
    root = profiles.resolve("luohu")
    profiles.load(session, root=root, registry=registry, settings=settings)
    before = {a.id for a in session.scalars(select(RoleAssignment))}
    from cityos.foundation.identity.profile import departments_section, roles_section
    from cityos.kernel.profiles import ProfileContext, parse_file

    context = ProfileContext(name="luohu", root=root, settings=settings)
    for section in (roles_section, departments_section):
        parsed, _ = parse_file(root / section.files[0], root)
        assert parsed is not None
        section.load(session, context, [section.schema.model_validate(parsed.data)])
    assert {a.id for a in session.scalars(select(RoleAssignment))} == before
    assert "demo_accounts" not in context.summary
