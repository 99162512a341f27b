"""OIDC clients: a secret shown once and kept as a hash, exact absolute redirect URIs, and the
profile's web-page client loaded with URIs resolved against the issuer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import AuditRecord
from cityos.foundation.identity import issue_token
from cityos.foundation.identity.clients import clients_section
from cityos.foundation.identity.models import OAuthClient, Scope, UserKind
from cityos.kernel import profiles
from cityos.kernel.profiles import ProfileContext, parse_file
from cityos.kernel.registry import Registry
from cityos.settings import Settings

from .conftest import Assign, MakeUser

CLIENTS = "/api/v1/identity/clients"
CALLBACK = "https://partner.example.cn/callback"


@pytest.fixture
def manager(session: Session, settings: Settings, make_user: MakeUser) -> dict[str, str]:
    user = make_user("integrator", Assign("test-integrator", Scope.DISTRICT, ["identity.*"]))
    return {"Authorization": f"Bearer {issue_token(session, settings=settings, user=user)}"}


def _create(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    payload = {
        "client_id": "partner-app",
        "name_zh": "合作应用",
        "name_en": "Partner app",
        "redirect_uris": [CALLBACK],
        **body,
    }
    return client.post(CLIENTS, json=payload, headers=headers)


def _stored(session: Session, client_id: str) -> OAuthClient:
    session.expire_all()
    row = session.get(OAuthClient, client_id)
    assert row is not None
    return row


def test_a_confidential_clients_secret_is_shown_once_and_stored_hashed(
    client: TestClient, session: Session, manager: dict[str, str]
) -> None:
    created = _create(client, manager, confidential=True)
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["client_secret"]
    assert len(secret) >= 40
    assert body["confidential"] is True
    assert body["redirect_uris"] == [CALLBACK]

    row = _stored(session, "partner-app")
    assert row.secret_hash is not None
    assert row.secret_hash.startswith("$argon2id$")
    assert secret not in row.secret_hash
    assert PasswordHasher().verify(row.secret_hash, secret)

    listed = client.get(CLIENTS, headers=manager)
    assert listed.status_code == 200
    assert secret not in listed.text
    assert "client_secret" not in listed.json()[0]
    audits = session.scalars(
        select(AuditRecord).where(AuditRecord.action == "identity.client_create")
    ).all()
    assert [a.target_id for a in audits] == ["partner-app"]
    assert secret not in str(audits[0].details)

    assert _create(client, manager).status_code == 409


def test_rotating_replaces_the_secret_and_deactivating_switches_it_off(
    client: TestClient, session: Session, manager: dict[str, str]
) -> None:
    first = _create(client, manager, confidential=True).json()["client_secret"]
    rotated = client.post(f"{CLIENTS}/partner-app/secret", headers=manager)
    assert rotated.status_code == 200
    second = rotated.json()["client_secret"]
    assert second != first
    row = _stored(session, "partner-app")
    assert row.secret_hash is not None
    assert PasswordHasher().verify(row.secret_hash, second)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(row.secret_hash, first)

    off = client.post(f"{CLIENTS}/partner-app/deactivate", headers=manager)
    assert off.status_code == 200
    assert off.json()["active"] is False
    assert _stored(session, "partner-app").active is False
    actions = session.scalars(
        select(AuditRecord.action)
        .where(AuditRecord.target_type == "oauth_client")
        .order_by(AuditRecord.occurred_at, AuditRecord.id)
    ).all()
    assert actions == [
        "identity.client_create",
        "identity.client_secret_rotate",
        "identity.client_deactivate",
    ]
    assert client.post(f"{CLIENTS}/nobody/deactivate", headers=manager).status_code == 404


def test_a_public_client_has_no_secret_to_show_or_rotate(
    client: TestClient, session: Session, manager: dict[str, str]
) -> None:
    created = _create(client, manager)
    assert created.status_code == 201
    assert created.json()["client_secret"] is None
    assert created.json()["confidential"] is False
    assert _stored(session, "partner-app").secret_hash is None
    rotate = client.post(f"{CLIENTS}/partner-app/secret", headers=manager)
    assert rotate.status_code == 409
    assert rotate.json()["code"] == "public_client"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"redirect_uris": ["https://partner.example.cn/cb#frag"]}, "redirect_uris[0]"),
        ({"redirect_uris": ["/relative/path"]}, "redirect_uris[0]"),
        ({"redirect_uris": [CALLBACK, "ftp://partner.example.cn/"]}, "redirect_uris[1]"),
        ({"post_logout_redirect_uris": ["javascript:alert(1)"]}, "post_logout_redirect_uris[0]"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"grant_types": ["password"]}, "grant_types"),
        ({"grant_types": ["client_credentials"]}, "grant_types"),
        ({"grant_types": ["client_credentials"], "confidential": True}, "user"),
        ({"scopes": ["openid", "Not A Scope"]}, "scopes"),
        ({"client_id": "Partner App"}, "client_id"),
    ],
)
def test_bad_clients_are_refused_naming_the_field(
    client: TestClient, manager: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = _create(client, manager, **body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_a_client_credentials_client_acts_as_a_system_account(
    client: TestClient, session: Session, make_user: MakeUser, manager: dict[str, str]
) -> None:
    make_user("staff-person")
    system = make_user("gateway-system", kind=UserKind.SYSTEM)
    not_system = _create(
        client,
        manager,
        confidential=True,
        grant_types=["client_credentials"],
        redirect_uris=[],
        user="staff-person",
    )
    assert not_system.status_code == 422
    created = _create(
        client,
        manager,
        confidential=True,
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["geo.*"],
        user="gateway-system",
    )
    assert created.status_code == 201, created.text
    assert created.json()["user_id"] == str(system.id)
    assert created.json()["scopes"] == ["geo.*"]


def test_only_client_managers_may_see_clients(
    client: TestClient, session: Session, settings: Settings, make_user: MakeUser
) -> None:
    assert client.get(CLIENTS).status_code == 401
    reader = make_user("reader", Assign("test-reader", Scope.DISTRICT, ["identity.*.read"]))
    headers = {"Authorization": f"Bearer {issue_token(session, settings=settings, user=reader)}"}
    assert client.get(CLIENTS, headers=headers).status_code == 403


def _load_clients(session: Session, settings: Settings, root: Path) -> ProfileContext:
    context = ProfileContext(name=root.name, root=root, settings=settings)
    parsed, issues = parse_file(root / "clients.yaml", root)
    assert parsed is not None
    assert not issues
    clients_section.load(session, context, [clients_section.schema.model_validate(parsed.data)])
    return context


def test_the_profile_web_client_gets_absolute_exact_uris(
    session: Session, settings: Settings, registry: Registry
) -> None:
    assert profiles.validate(profiles.resolve("luohu"), registry) == []
    context = _load_clients(session, settings, profiles.resolve("luohu"))
    assert context.summary == {"clients": 1}
    web = _stored(session, "cityos-web")
    pages = [
        f"{settings.issuer}/workbench/",
        f"{settings.issuer}/ioc/",
        f"{settings.issuer}/portal/",
    ]
    assert web.redirect_uris == pages
    assert web.post_logout_redirect_uris == pages
    assert web.name_zh == "罗湖城市平台网页端"
    assert web.name_en == "CityOS web pages"
    assert web.secret_hash is None
    assert web.from_profile is True
    assert web.first_party is True
    assert web.grant_types == ["authorization_code", "refresh_token"]
    assert web.scopes == ["openid", "profile", "phone", "api", "offline_access"]

    again = _load_clients(session, settings, profiles.resolve("luohu"))
    assert again.summary == {}

    moved = Settings(
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        issuer="https://city.example.cn/cityos/",
        pii_master_key=SecretStr("test-only-pii-master-key-0123456789abcdef"),
        _env_file=None,  # type: ignore[call-arg]
    )
    _load_clients(session, moved, profiles.resolve("luohu"))
    assert _stored(session, "cityos-web").redirect_uris[0] == (
        "https://city.example.cn/cityos/workbench/"
    )


def test_a_client_dropped_from_the_profile_is_switched_off(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    _load_clients(session, settings, profiles.resolve("luohu"))
    (tmp_path / "clients.yaml").write_text("clients: []\n", encoding="utf-8")
    context = _load_clients(session, settings, tmp_path)
    assert context.summary == {"clients_deactivated": 1}
    assert _stored(session, "cityos-web").active is False


def test_profile_clients_are_checked_with_file_and_line(tmp_path: Path, registry: Registry) -> None:
    (tmp_path / "clients.yaml").write_text(
        "clients:\n"
        "  - client_id: broken\n"
        "    name: {zh: 坏, en: Broken}\n"
        "    grant_types: [authorization_code]\n"
        "    redirect_uris: ['https://x.example.cn/#frag']\n",
        encoding="utf-8",
    )
    issues = [str(i) for i in profiles.validate(tmp_path, registry) if "clients" in i.file]
    assert len(issues) == 1
    assert issues[0].startswith("clients.yaml:2")
    assert "fragment" in issues[0]
