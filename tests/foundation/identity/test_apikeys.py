"""API keys from a device's side: accepted in ``X-API-Key`` (or ``api_key``), narrowed to
their scopes, refused alike when revoked, expired, tampered with or unknown."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.app import create_app
from cityos.foundation.audit import AuditRecord
from cityos.foundation.identity import (
    Actor,
    create_api_key,
    list_api_keys,
    require,
    revoke_api_key,
)
from cityos.foundation.identity.models import ApiKey, Scope, User
from cityos.kernel.errors import ValidationFailed
from cityos.settings import Settings
from tests.test_cli import run

from .conftest import Assign, MakeUser

USERS = "/api/v1/_test/users"
ROLES = "/api/v1/_test/roles"


def _mount_protected(app: FastAPI) -> None:
    @app.get(USERS)
    def users(actor: Annotated[Actor, Depends(require("identity.users.read"))]) -> dict[str, str]:
        return {"caller": actor.username}

    @app.get(ROLES)
    def roles(actor: Annotated[Actor, Depends(require("identity.roles.read"))]) -> dict[str, str]:
        return {"caller": actor.username}


@pytest.fixture
def device(client: TestClient, make_user: MakeUser) -> User:
    """A system account allowed to read users and roles, with the test routes mounted."""
    _mount_protected(client.app)  # type: ignore[arg-type]
    return make_user(
        "gateway", Assign("reader", Scope.DISTRICT, ["identity.users.*", "identity.roles.*"])
    )


def _key(session: Session, settings: Settings, owner: User, *scopes: str, **kw: object) -> str:
    issued = create_api_key(
        session,
        settings=settings,
        owner=owner,
        scopes=list(scopes) or ["identity.*"],
        actor="test",
        **kw,  # type: ignore[arg-type]
    )
    session.commit()
    return issued.key


def test_a_key_in_the_header_or_the_query_acts_for_its_owner(
    client: TestClient, session: Session, settings: Settings, device: User
) -> None:
    key = _key(session, settings, device)
    by_header = client.get(USERS, headers={"X-API-Key": key})
    assert by_header.status_code == 200, by_header.text
    assert by_header.json() == {"caller": "gateway"}
    by_query = client.get(USERS, params={"api_key": key})
    assert by_query.status_code == 200
    assert session.scalars(select(ApiKey)).one().last_used_at is not None


def test_a_key_is_narrowed_to_its_scopes(
    client: TestClient, session: Session, settings: Settings, device: User
) -> None:
    key = _key(session, settings, device, "identity.users.read")
    assert client.get(USERS, headers={"X-API-Key": key}).status_code == 200
    denied = client.get(ROLES, headers={"X-API-Key": key})
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"


def test_a_scope_never_widens_what_the_owner_may_do(
    client: TestClient, session: Session, settings: Settings, make_user: MakeUser
) -> None:
    _mount_protected(client.app)  # type: ignore[arg-type]
    owner = make_user("meter", Assign("meter", Scope.DISTRICT, ["identity.users.read"]))
    key = _key(session, settings, owner, "*")
    assert client.get(USERS, headers={"X-API-Key": key}).status_code == 200
    assert client.get(ROLES, headers={"X-API-Key": key}).status_code == 403


def test_revoked_expired_tampered_and_unknown_keys_are_refused_alike(
    client: TestClient, session: Session, settings: Settings, device: User
) -> None:
    revoked = _key(session, settings, device)
    revoke_api_key(session, prefix=revoked[3:11], actor="test")
    expired = _key(session, settings, device)
    session.scalars(
        select(ApiKey).where(ApiKey.prefix == expired[3:11])
    ).one().expires_at -= timedelta(days=366)
    good = _key(session, settings, device)
    session.commit()
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    unknown = "ck_00000000" + good[11:]
    details = set()
    for key in (revoked, expired, tampered, unknown, "not-a-key", "ck_short_x"):
        response = client.get(USERS, headers={"X-API-Key": key})
        assert response.status_code == 401, key
        assert response.json()["code"] == "unauthenticated"
        details.add(response.json()["detail"])
    assert details == {"the API key is not valid"}
    assert client.get(USERS, headers={"X-API-Key": good}).status_code == 200


def test_a_deactivated_owners_key_stops_working(
    client: TestClient, session: Session, settings: Settings, device: User
) -> None:
    key = _key(session, settings, device)
    device.active = False
    session.commit()
    assert client.get(USERS, headers={"X-API-Key": key}).status_code == 401


def test_no_credentials_is_401(client: TestClient, device: User) -> None:
    response = client.get(USERS)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_the_key_is_never_stored_nor_audited(
    session: Session, settings: Settings, make_user: MakeUser
) -> None:
    owner = make_user("camera", Assign("cam", Scope.DISTRICT, ["identity.profile.read"]))
    key = _key(session, settings, owner, "identity.profile.read", name="camera 7")
    row = session.scalars(select(ApiKey)).one()
    secret = key.split("_", 2)[2]
    stored = " ".join(str(v) for v in (row.prefix, row.hash, row.name, row.scopes))
    assert secret not in stored
    assert key.startswith(f"ck_{row.prefix}_")
    revoke_api_key(session, prefix=row.prefix, actor="test")
    audited = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.target_id == str(row.id))
        .order_by(AuditRecord.occurred_at, AuditRecord.id)
    ).all()
    assert [a.action for a in audited] == ["apikey.create", "apikey.revoke"]
    for entry in audited:
        assert entry.details["prefix"] == row.prefix
        assert entry.details["scopes"] == ["identity.profile.read"]
        assert secret not in str(entry.details)
    [listing] = list_api_keys(session, owner=owner)
    assert (listing.owner, listing.name, listing.status) == ("camera", "camera 7", "revoked")


def test_a_key_needs_valid_scopes_and_lifetime(
    session: Session, settings: Settings, make_user: MakeUser
) -> None:
    owner = make_user("sensor")
    for scopes, lifetime in (
        ([], timedelta(days=1)),
        (["Not A Pattern"], timedelta(days=1)),
        (["identity.*"], timedelta(0)),
    ):
        with pytest.raises(ValidationFailed):
            create_api_key(
                session,
                settings=settings,
                owner=owner,
                scopes=scopes,
                lifetime=lifetime,
                actor=None,
            )


def test_cli_create_prints_a_key_the_api_accepts_and_revoke_stops_it(tmp_path: Path) -> None:
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    loaded = run(["profile", "load", "luohu"], tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    created = run(
        ["apikeys", "create", "--owner", "admin", "--scope", "identity.keys.*", "--name", "ops"],
        tmp_path,
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("ck_")

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'var' / 'cli.db'}",
        data_dir=tmp_path / "var",
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings)

    @app.get("/api/v1/_test/keys")
    def keys(actor: Annotated[Actor, Depends(require("identity.keys.rotate"))]) -> dict[str, str]:
        return {"caller": actor.username}

    with TestClient(app) as client:
        response = client.get("/api/v1/_test/keys", headers={"X-API-Key": key})
        assert response.status_code == 200, response.text
        assert response.json() == {"caller": "admin"}

    listed = run(["apikeys", "list", "--owner", "admin"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert key[3:11] in listed.stdout
    assert key not in listed.stdout
    assert "active" in listed.stdout

    revoked = run(["apikeys", "revoke", key[3:11]], tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    with TestClient(app) as client:
        assert client.get("/api/v1/_test/keys", headers={"X-API-Key": key}).status_code == 401

    unknown = run(["apikeys", "create", "--owner", "nobody", "--scope", "*"], tmp_path)
    assert unknown.returncode == 2
    assert "no active user 'nobody'" in unknown.stderr
