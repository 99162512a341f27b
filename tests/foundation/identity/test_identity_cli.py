"""``cityos auth users|departments|roles|clients`` as an operator uses them: tables to read,
one-line errors, secrets printed once on the last line, every change audited as ``cli``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cityos.foundation.audit import AuditRecord
from cityos.foundation.identity.models import OAuthClient, RoleAssignment, Scope, User
from cityos.kernel.cli import console
from cityos.kernel.runtime import Runtime
from tests.test_cli import run

from .conftest import Assign, MakeUser

PHONE = "13912345678"
STRONG = "Luohu-Harbour-2024"
Invoke = Callable[..., Result]
# The module, not the package's ``cli`` attribute (the Typer app) of the same name.
identity_cli = importlib.import_module("cityos.foundation.identity.cli")


@pytest.fixture
def invoke(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run ``cityos auth …`` in process, on the test's database transaction."""
    monkeypatch.setattr(identity_cli, "cli_runtime", lambda *_, **__: runtime)
    monkeypatch.setattr(console, "_width", 200)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(identity_cli.cli, list(args), input=input)

    return invoke


def _audits(session: Session, action: str) -> list[AuditRecord]:
    return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def _user(session: Session, username: str) -> User:
    session.expire_all()
    user = session.scalars(select(User).where(User.username == username)).one()
    return user


def test_users_are_created_listed_with_masked_phones_and_audited_as_cli(
    invoke: Invoke, session: Session
) -> None:
    created = invoke(
        "users",
        "create",
        "wang.fang",
        "--name",
        "王芳",
        "--phone",
        PHONE,
        "--with-password",
        input=f"{STRONG}\n{STRONG}\n",
    )
    assert created.exit_code == 0, created.output
    assert "user wang.fang created" in created.stdout
    assert STRONG not in created.stdout
    user = _user(session, "wang.fang")
    assert user.password_hash is not None
    assert PasswordHasher().verify(user.password_hash, STRONG)

    listed = invoke("users", "list")
    assert listed.exit_code == 0, listed.output
    assert "wang.fang" in listed.stdout
    assert "139****5678" in listed.stdout
    assert PHONE not in listed.stdout
    assert "1 of 1 user(s)" in listed.stdout
    assert [a.actor for a in _audits(session, "identity.user_create")] == ["cli"]
    assert [a.actor for a in _audits(session, "auth.password_set")] == ["cli"]

    duplicate = invoke("users", "create", "wang.fang", "--name", "x")
    assert duplicate.exit_code == 2
    assert "username_taken" in duplicate.stderr


def test_disable_enable_unlock_set_password_and_reset_mfa(
    invoke: Invoke, session: Session, make_user: MakeUser
) -> None:
    make_user("operator")
    assert invoke("users", "disable", "operator").exit_code == 0
    assert _user(session, "operator").active is False
    listed = invoke("users", "list", "--q", "operator")
    assert "disabled" in listed.stdout
    assert invoke("users", "enable", "operator").exit_code == 0
    assert _user(session, "operator").active is True
    assert invoke("users", "unlock", "operator").exit_code == 0
    assert invoke("users", "reset-mfa", "operator").exit_code == 0
    weak = invoke("users", "set-password", "operator", input="password\npassword\n")
    assert weak.exit_code == 2
    assert "password" in weak.stderr
    strong = invoke("users", "set-password", "operator", input=f"{STRONG}\n{STRONG}\n")
    assert strong.exit_code == 0, strong.output
    for action in ("identity.user_update", "auth.unlock", "auth.mfa_reset", "auth.password_set"):
        assert {a.actor for a in _audits(session, action)} == {"cli"}, action
    missing = invoke("users", "unlock", "nobody")
    assert missing.exit_code == 2
    assert "no user 'nobody'" in missing.stderr


def test_departments_and_role_assignments(
    invoke: Invoke, session: Session, make_user: MakeUser
) -> None:
    make_user("spare", Assign("test-inspector", Scope.JURISDICTION, ["identity.profile.read"]))
    make_user("inspector")
    root = invoke(
        "departments",
        "add",
        "cli-root",
        "--zh",
        "测试局",
        "--en",
        "Test bureau",
        "--kind",
        "bureau",
    )
    assert root.exit_code == 0, root.output
    child = invoke(
        "departments",
        "add",
        "cli-child",
        "--zh",
        "测试中心",
        "--en",
        "Test centre",
        "--kind",
        "centre",
        "--parent",
        "cli-root",
    )
    assert child.exit_code == 0, child.output
    tree = invoke("departments", "list")
    assert "cli-root" in tree.stdout
    assert "  cli-child" in tree.stdout
    assert "测试中心" in tree.stdout

    bad = invoke("users", "assign", "inspector", "test-inspector", "--region", "4403")
    assert bad.exit_code == 2
    assert "jurisdiction" in bad.stderr
    good = invoke(
        "users",
        "assign",
        "inspector",
        "test-inspector",
        "--department",
        "cli-child",
        "--region",
        "440303003",
    )
    assert good.exit_code == 0, good.output
    held = session.scalars(
        select(RoleAssignment).where(RoleAssignment.user_id == _user(session, "inspector").id)
    ).one()
    assert held.jurisdiction == ["440303003"]
    roles = invoke("roles", "list")
    assert roles.exit_code == 0
    (line,) = [row for row in roles.stdout.splitlines() if "test-inspector" in row]
    assert " 2 " in line
    assert "2 of 2 user(s)" in invoke("users", "list", "--role", "test-inspector").stdout

    removed = invoke("users", "unassign", "inspector", "test-inspector")
    assert removed.exit_code == 0, removed.output
    assert "1 assignment(s)" in removed.stdout
    again = invoke("users", "unassign", "inspector", "test-inspector")
    assert again.exit_code == 2
    assert {a.actor for a in _audits(session, "identity.role_assign")} == {"cli"}
    assert {a.actor for a in _audits(session, "identity.role_unassign")} == {"cli"}


def test_a_confidential_clients_secret_is_the_last_line_once(
    invoke: Invoke, session: Session
) -> None:
    created = invoke(
        "clients",
        "create",
        "reporting",
        "--zh",
        "报表系统",
        "--en",
        "Reporting",
        "--confidential",
        "--redirect-uri",
        "https://reports.example.cn/callback",
        "--scope",
        "openid",
        "--scope",
        "api",
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    session.expire_all()
    row = session.get(OAuthClient, "reporting")
    assert row is not None
    assert row.secret_hash is not None
    assert PasswordHasher().verify(row.secret_hash, secret)
    assert row.scopes == ["openid", "api"]

    listed = invoke("clients", "list")
    assert "reporting" in listed.stdout
    assert "confidential" in listed.stdout
    assert secret not in listed.stdout

    rotated = invoke("clients", "rotate-secret", "reporting")
    assert rotated.exit_code == 0
    new_secret = rotated.stdout.strip().splitlines()[-1]
    assert new_secret != secret
    assert invoke("clients", "deactivate", "reporting").exit_code == 0
    assert "inactive" in invoke("clients", "list").stdout

    public = invoke(
        "clients",
        "create",
        "mini-app",
        "--zh",
        "小程序",
        "--en",
        "Mini app",
        "--redirect-uri",
        "https://m.example.cn/cb",
    )
    assert public.exit_code == 0
    assert "PKCE" in public.stdout
    fragment = invoke(
        "clients", "create", "bad", "--zh", "坏", "--en", "Bad", "--redirect-uri", "https://x/#a"
    )
    assert fragment.exit_code == 2
    assert "redirect_uris[0]" in fragment.stderr
    actions = sorted(
        a.action for a in session.scalars(select(AuditRecord).where(AuditRecord.actor == "cli"))
    )
    assert actions == [
        "identity.client_create",
        "identity.client_create",
        "identity.client_deactivate",
        "identity.client_secret_rotate",
    ]


def test_the_cityos_command_has_the_auth_groups(tmp_path: Path) -> None:
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    created = run(["auth", "users", "create", "solo.user", "--name", "Solo"], tmp_path)
    assert created.returncode == 0, created.stderr
    listed = run(["auth", "users", "list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "solo.user" in listed.stdout
