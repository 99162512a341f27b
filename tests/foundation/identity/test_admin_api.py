"""The identity administration API as an administrator and a citizen meet it: who may call
what, users with masked phones, the department tree, role assignments over regions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import AuditRecord
from cityos.foundation.geo.models import Region
from cityos.foundation.identity import issue_token
from cityos.foundation.identity.models import Scope, User, UserKind
from cityos.settings import Settings

from .conftest import Assign, MakeUser

API = "/api/v1/identity"
PHONE = "13812345678"
STRONG = "Luohu-Harbour-2024"


def _auth(session: Session, settings: Settings, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(session, settings=settings, user=user)}"}


@pytest.fixture
def boss(session: Session, settings: Settings, make_user: MakeUser) -> dict[str, str]:
    """The headers of a platform administrator (every permission, district-wide)."""
    user = make_user("boss", Assign("test-admin", Scope.DISTRICT, ["*"]))
    return _auth(session, settings, user)


@pytest.fixture
def citizen(session: Session, settings: Settings, make_user: MakeUser) -> dict[str, str]:
    user = make_user(
        "resident",
        Assign("test-citizen", Scope.OWN, ["identity.profile.read"]),
        kind=UserKind.CITIZEN,
    )
    return _auth(session, settings, user)


def _audits(session: Session, action: str) -> list[AuditRecord]:
    return list(
        session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == action)
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
        )
    )


def _department(client: TestClient, headers: dict[str, str], code: str, **extra: Any) -> None:
    body = {"code": code, "name_zh": f"{code}局", "name_en": f"{code} bureau", "kind": "bureau"}
    response = client.post(f"{API}/departments", json={**body, **extra}, headers=headers)
    assert response.status_code == 201, response.text


def _new_user(client: TestClient, headers: dict[str, str], username: str, **extra: Any) -> Any:
    body = {"username": username, "display_name": f"{username} 同志", **extra}
    response = client.post(f"{API}/users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_without_a_token_every_identity_route_answers_401(client: TestClient) -> None:
    for method, path in [
        ("GET", "/me"),
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/departments"),
        ("GET", "/roles"),
        ("GET", "/clients"),
    ]:
        response = client.request(method, f"{API}{path}", json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == "application/problem+json"


def test_a_citizen_sees_their_own_account_and_nothing_else(
    client: TestClient, citizen: dict[str, str]
) -> None:
    me = client.get(f"{API}/me", headers=citizen)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["username"] == "resident"
    assert body["kind"] == "citizen"
    assert body["department"] is None
    assert body["permissions"] == ["identity.profile.read"]
    assert [r["role"] for r in body["roles"]] == ["test-citizen"]
    assert body["mfa"] == {"enrolled": False, "required": False}
    for method, path in [
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/departments"),
        ("GET", "/roles"),
        ("GET", "/permissions"),
        ("GET", "/clients"),
    ]:
        response = client.request(method, f"{API}{path}", headers=citizen, json={})
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "permission_denied"


def test_me_names_the_department_in_both_languages_and_sorts_permissions(
    client: TestClient,
    session: Session,
    settings: Settings,
    make_user: MakeUser,
    boss: dict[str, str],
) -> None:
    make_user(
        "spare",
        Assign("test-reader", Scope.DISTRICT, ["identity.users.read", "identity.profile.read"]),
    )
    _department(client, boss, "water-test")
    created = _new_user(client, boss, "clerk", department_code="water-test")
    clerk = session.get(User, uuid.UUID(created["id"]))
    assert clerk is not None
    client.post(
        f"{API}/users/{clerk.id}/roles", json={"role": "test-reader"}, headers=boss
    ).raise_for_status()
    body = client.get(f"{API}/me", headers=_auth(session, settings, clerk)).json()
    assert body["department"] == {
        "code": "water-test",
        "name_zh": "water-test局",
        "name_en": "water-test bureau",
    }
    assert body["permissions"] == ["identity.profile.read", "identity.users.read"]
    assert body["roles"][0]["name_en"] == "test-reader"


def test_creating_a_user_answers_201_audits_it_and_refuses_a_duplicate(
    client: TestClient, session: Session, boss: dict[str, str]
) -> None:
    created = _new_user(client, boss, "zhang.wei", kind="staff", phone=PHONE)
    assert created["phone"] == "138****5678"
    assert created["active"] is True
    assert created["locked"] is False
    (audit,) = _audits(session, "identity.user_create")
    assert audit.actor == "boss"
    assert audit.target_id == created["id"]
    assert audit.request_id
    assert PHONE not in str(audit.details)
    assert "zhang" not in str(audit.details)

    again = client.post(
        f"{API}/users", json={"username": "zhang.wei", "display_name": "x"}, headers=boss
    )
    assert again.status_code == 409
    assert again.json()["code"] == "username_taken"
    same_phone = client.post(
        f"{API}/users",
        json={"username": "li.na", "display_name": "x", "phone": "+86 138 1234 5678"},
        headers=boss,
    )
    assert same_phone.status_code == 409
    assert PHONE not in same_phone.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "Bad Name", "display_name": "x"}, "username"),
        ({"username": "ok.name", "display_name": "x", "phone": "12345"}, "phone"),
        (
            {"username": "ok.name", "display_name": "x", "department_code": "nowhere"},
            "department_code",
        ),
        ({"username": "ok.name", "display_name": "x", "password": "short"}, "password"),
        ({"username": "ok.name", "display_name": "x", "kind": "alien"}, "body.kind"),
    ],
)
def test_bad_user_input_is_422_naming_the_field(
    client: TestClient, boss: dict[str, str], body: dict[str, str], field: str
) -> None:
    response = client.post(f"{API}/users", json=body, headers=boss)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_lists_never_show_a_phone_unmasked(
    client: TestClient, session: Session, boss: dict[str, str]
) -> None:
    created = _new_user(client, boss, "caller", phone=PHONE)
    listed = client.get(f"{API}/users", headers=boss)
    assert listed.status_code == 200
    assert PHONE not in listed.text
    assert "138****5678" in listed.text
    one = client.get(f"{API}/users/{created['id']}", headers=boss)
    assert PHONE not in one.text
    # Staff can still find someone by the number they were given.
    found = client.get(f"{API}/users", params={"q": "138-1234-5678"}, headers=boss).json()
    assert [u["username"] for u in found["items"]] == ["caller"]


def test_the_user_list_filters_by_department_subtree_role_and_kind_and_pages(
    client: TestClient, boss: dict[str, str]
) -> None:
    _department(client, boss, "parent-bureau")
    _department(client, boss, "child-centre", parent_code="parent-bureau", kind="centre")
    _department(client, boss, "other-bureau")
    _new_user(client, boss, "alpha", department_code="parent-bureau")
    _new_user(client, boss, "bravo", department_code="child-centre")
    _new_user(client, boss, "charlie", department_code="other-bureau")
    _new_user(client, boss, "delta", kind="citizen")

    def names(**params: Any) -> list[str]:
        response = client.get(f"{API}/users", params=params, headers=boss)
        assert response.status_code == 200, response.text
        return [u["username"] for u in response.json()["items"]]

    assert names(department="parent-bureau") == ["alpha", "bravo"]
    assert names(department="child-centre") == ["bravo"]
    assert names(kind="citizen") == ["delta"]
    assert names(role="test-admin") == ["boss"]
    assert names(q="ALPH") == ["alpha"]
    everyone = client.get(f"{API}/users", params={"limit": 2, "offset": 1}, headers=boss).json()
    assert everyone["total"] == 5
    assert [u["username"] for u in everyone["items"]] == ["boss", "bravo"]
    assert client.get(f"{API}/users", params={"limit": 201}, headers=boss).status_code == 422
    unknown = client.get(f"{API}/users", params={"department": "nowhere"}, headers=boss)
    assert unknown.status_code == 422


def test_paging_walks_the_list_in_username_order(client: TestClient, boss: dict[str, str]) -> None:
    for name in ("echo", "alpha", "delta"):
        _new_user(client, boss, name)
    pages = [
        client.get(f"{API}/users", params={"limit": 2, "offset": o}, headers=boss).json()
        for o in (0, 2)
    ]
    assert [p["total"] for p in pages] == [4, 4]
    assert [u["username"] for p in pages for u in p["items"]] == [
        "alpha",
        "boss",
        "delta",
        "echo",
    ]


def _add_region(session: Session, code: str) -> None:
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    session.add(
        Region(
            code=code,
            level="subdistrict",
            name_zh="测试街道",
            name_en="Test subdistrict",
            geometry=square,
            min_lon=0,
            min_lat=0,
            max_lon=1,
            max_lat=1,
            area_m2=1.0,
            centroid_lon=0.5,
            centroid_lat=0.5,
        )
    )
    session.flush()


def test_assigning_a_role_checks_the_jurisdiction_and_is_audited(
    client: TestClient, session: Session, make_user: MakeUser, boss: dict[str, str]
) -> None:
    make_user("spare", Assign("test-inspector", Scope.JURISDICTION, ["identity.profile.read"]))
    _department(client, boss, "street-office", kind="subdistrict-office")
    user = _new_user(client, boss, "inspector")
    roles = f"{API}/users/{user['id']}/roles"

    bad = client.post(roles, json={"role": "test-inspector", "jurisdiction": ["123"]}, headers=boss)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "jurisdiction"
    empty = client.post(roles, json={"role": "test-inspector"}, headers=boss)
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "jurisdiction"
    unknown_role = client.post(roles, json={"role": "wizard"}, headers=boss)
    assert unknown_role.status_code == 422
    assert unknown_role.json()["errors"][0]["field"] == "role"

    _add_region(session, "440303003")
    missing = client.post(
        roles, json={"role": "test-inspector", "jurisdiction": ["440303009"]}, headers=boss
    )
    assert missing.status_code == 422
    assert "440303009" in missing.json()["detail"]

    body = {
        "role": "test-inspector",
        "department_code": "street-office",
        "jurisdiction": ["440303003"],
    }
    created = client.post(roles, json=body, headers=boss)
    assert created.status_code == 201, created.text
    assignment = created.json()
    assert assignment["department_code"] == "street-office"
    assert assignment["jurisdiction"] == ["440303003"]
    assert assignment["scope"] == "jurisdiction"
    assert client.post(roles, json=body, headers=boss).status_code == 409
    (audit,) = _audits(session, "identity.role_assign")
    assert audit.details["jurisdiction"] == ["440303003"]
    assert audit.target_id == user["id"]

    listed = client.get(f"{API}/users/{user['id']}", headers=boss).json()
    assert [r["id"] for r in listed["roles"]] == [assignment["id"]]
    gone = client.delete(f"{roles}/{assignment['id']}", headers=boss)
    assert gone.status_code == 204
    assert client.delete(f"{roles}/{assignment['id']}", headers=boss).status_code == 404
    assert len(_audits(session, "identity.role_unassign")) == 1


def test_nobody_grants_more_than_they_hold(
    client: TestClient, session: Session, settings: Settings, make_user: MakeUser
) -> None:
    make_user("root", Assign("test-everything", Scope.DISTRICT, ["*"]))
    manager = make_user(
        "manager",
        Assign("test-role-manager", Scope.DISTRICT, ["identity.roles.*", "identity.users.*"]),
    )
    headers = _auth(session, settings, manager)
    target = f"{API}/users/{manager.id}/roles"
    refused = client.post(target, json={"role": "test-everything"}, headers=headers)
    assert refused.status_code == 403
    allowed = client.post(target, json={"role": "test-role-manager"}, headers=headers)
    # Holding the role already, with the same (empty) department and regions.
    assert allowed.status_code == 409


def test_password_unlock_and_mfa_reset_are_audited(
    client: TestClient, session: Session, boss: dict[str, str]
) -> None:
    user = _new_user(client, boss, "forgetful")
    path = f"{API}/users/{user['id']}"
    weak = client.post(f"{path}/password", json={"password": "password"}, headers=boss)
    assert weak.status_code == 422
    assert {e["field"] for e in weak.json()["errors"]} == {"password"}
    assert (
        client.post(f"{path}/password", json={"password": STRONG}, headers=boss).status_code == 204
    )
    assert client.post(f"{path}/unlock", headers=boss).status_code == 204
    assert client.post(f"{path}/reset-mfa", headers=boss).status_code == 204
    for action in ("auth.password_set", "auth.unlock", "auth.mfa_reset"):
        assert [a.target_id for a in _audits(session, action)] == [user["id"]]
    stored = session.get(User, uuid.UUID(user["id"]))
    assert stored is not None
    session.refresh(stored)
    assert stored.password_hash is not None
    assert STRONG not in stored.password_hash


def test_unknown_user_ids_are_404(client: TestClient, boss: dict[str, str]) -> None:
    nobody = "00000000-0000-7000-8000-000000000000"
    assert client.get(f"{API}/users/{nobody}", headers=boss).status_code == 404
    assert client.patch(f"{API}/users/{nobody}", json={}, headers=boss).status_code == 404
    assert client.post(f"{API}/users/{nobody}/unlock", headers=boss).status_code == 404
    assert client.get(f"{API}/users/not-a-uuid", headers=boss).status_code == 422


def test_a_disabled_user_is_refused_at_once(
    client: TestClient, session: Session, settings: Settings, boss: dict[str, str]
) -> None:
    _department(client, boss, "moving-bureau")
    created = _new_user(client, boss, "leaver")
    leaver = session.get(User, uuid.UUID(created["id"]))
    assert leaver is not None
    client.post(
        f"{API}/users/{created['id']}/roles", json={"role": "test-admin"}, headers=boss
    ).raise_for_status()
    headers = _auth(session, settings, leaver)
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    patched = client.patch(
        f"{API}/users/{created['id']}",
        json={"active": False, "department_code": "moving-bureau", "display_name": "离职"},
        headers=boss,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False
    assert patched.json()["department_code"] == "moving-bureau"
    assert patched.json()["display_name"] == "离职"
    assert client.get(f"{API}/me", headers=headers).status_code == 401
    (audit,) = _audits(session, "identity.user_update")
    assert audit.details["changed"] == ["active", "department_id", "display_name"]
    assert "离职" not in str(audit.details)
    # An administrator cannot lock themselves out.
    boss_id = client.get(f"{API}/me", headers=boss).json()["id"]
    selfish = client.patch(f"{API}/users/{boss_id}", json={"active": False}, headers=boss)
    assert selfish.status_code == 422
    assert selfish.json()["errors"][0]["field"] == "active"


def test_departments_form_a_tree_without_cycles(
    client: TestClient, session: Session, boss: dict[str, str]
) -> None:
    _department(client, boss, "tree-root", kind="government", region_code="440303")
    _department(client, boss, "tree-branch", parent_code="tree-root")
    _department(client, boss, "tree-leaf", parent_code="tree-branch", kind="centre")
    tree = client.get(f"{API}/departments", headers=boss).json()
    (root,) = [node for node in tree if node["code"] == "tree-root"]
    assert root["name_zh"] == "tree-root局"
    assert root["region_code"] == "440303"
    assert [c["code"] for c in root["children"]] == ["tree-branch"]
    assert [c["code"] for c in root["children"][0]["children"]] == ["tree-leaf"]

    cycle = client.patch(
        f"{API}/departments/tree-root", json={"parent_code": "tree-leaf"}, headers=boss
    )
    assert cycle.status_code == 422
    assert cycle.json()["errors"][0]["field"] == "parent_code"
    moved = client.patch(f"{API}/departments/tree-leaf", json={"parent_code": None}, headers=boss)
    assert moved.status_code == 200
    tree = client.get(f"{API}/departments", headers=boss).json()
    assert {"tree-root", "tree-leaf"} <= {node["code"] for node in tree}

    duplicate = client.post(
        f"{API}/departments",
        json={"code": "tree-root", "name_zh": "x", "name_en": "x", "kind": "bureau"},
        headers=boss,
    )
    assert duplicate.status_code == 409
    assert client.patch(f"{API}/departments/nowhere", json={}, headers=boss).status_code == 404
    bad_region = client.post(
        f"{API}/departments",
        json={
            "code": "far",
            "name_zh": "x",
            "name_en": "x",
            "kind": "bureau",
            "region_code": "110101",
        },
        headers=boss,
    )
    assert bad_region.status_code == 422
    assert bad_region.json()["errors"][0]["field"] == "region_code"
    assert len(_audits(session, "identity.department_create")) == 3
    assert len(_audits(session, "identity.department_update")) == 1


def test_roles_show_their_holders_and_permissions_their_labels(
    client: TestClient, make_user: MakeUser, boss: dict[str, str]
) -> None:
    reader = Assign("test-reader", Scope.DISTRICT, ["identity.users.read"])
    make_user("one", reader)
    make_user("two", reader)
    make_user("gone", reader, active=False)
    roles = {r["code"]: r for r in client.get(f"{API}/roles", headers=boss).json()}
    assert roles["test-reader"]["holders"] == 2
    assert roles["test-admin"]["holders"] == 1
    assert roles["test-reader"]["permissions"] == ["identity.users.read"]
    assert roles["test-reader"]["scope"] == "district"
    permissions = {p["name"]: p for p in client.get(f"{API}/permissions", headers=boss).json()}
    assert permissions["identity.clients.manage"]["zh"] == "管理接入应用"
    assert permissions["identity.users.read"]["en"] == "Read users"
