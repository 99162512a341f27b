"""The authorisation layer from a caller's side: every route declares its access; 401 for
no or bad credentials, 403 for missing permissions; tokens narrowed by scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityos.foundation.identity import Actor, issue_token, require, route_permission
from cityos.foundation.identity.models import Scope
from cityos.kernel.access import PUBLIC, MountedRoute, api_routes, public
from cityos.settings import Settings
from tests.test_app import PUBLIC_ROUTES

from .conftest import Assign, MakeUser

PROTECTED = "/api/v1/_test/users"


def _mount_protected(app: FastAPI) -> None:
    @app.get(PROTECTED)
    def users(actor: Annotated[Actor, Depends(require("identity.users.read"))]) -> dict[str, str]:
        return {"caller": actor.username}


def _api_routes(app: FastAPI) -> list[MountedRoute]:
    return [r for r in api_routes(app) if r.path.startswith("/api/")]


def test_every_api_route_declares_its_access(client: TestClient) -> None:
    """Probes (/healthz, /readyz, /metrics) live outside /api and are left undeclared."""
    routes = _api_routes(client.app)  # type: ignore[arg-type]
    assert routes
    undeclared = [r.path for r in routes if route_permission(r) is None]
    assert undeclared == []
    for route in routes:
        if route.path in PUBLIC_ROUTES:
            assert route_permission(route) == PUBLIC, route.path


def test_the_route_walk_finds_permissions_and_refuses_two(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    _mount_protected(app)

    @app.get("/api/v1/_test/both", dependencies=[Depends(public())])
    def both(actor: Annotated[Actor, Depends(require("identity.users.read"))]) -> None:
        return None

    @app.get("/api/v1/_test/none")
    def none() -> None:
        return None

    by_path = {r.path: r for r in _api_routes(app)}
    assert route_permission(by_path[PROTECTED]) == "identity.users.read"
    assert route_permission(by_path["/api/v1/_test/none"]) is None
    with pytest.raises(ValueError, match="several"):
        route_permission(by_path["/api/v1/_test/both"])


def test_no_token_is_401_and_a_missing_permission_is_403(
    client: TestClient, session: Session, settings: Settings, make_user: MakeUser
) -> None:
    _mount_protected(client.app)  # type: ignore[arg-type]
    reader = make_user(
        "reader", Assign("user-reader", Scope.DISTRICT, ["identity.users.*", "identity.profile.*"])
    )
    citizen = make_user("someone", Assign("citizen-x", Scope.OWN, ["identity.profile.read"]))
    session.commit()

    anonymous = client.get(PROTECTED)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["code"] == "unauthenticated"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")

    garbage = client.get(PROTECTED, headers={"Authorization": "Bearer not-a-token"})
    assert garbage.status_code == 401
    assert garbage.json()["code"] == "unauthenticated"

    token = issue_token(session, settings=settings, user=citizen)
    session.commit()
    denied = client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"

    token = issue_token(session, settings=settings, user=reader)
    session.commit()
    allowed = client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200
    assert allowed.json() == {"caller": "reader"}


def test_a_token_scope_narrows_what_it_may_do(
    client: TestClient, session: Session, settings: Settings, make_user: MakeUser
) -> None:
    _mount_protected(client.app)  # type: ignore[arg-type]
    admin = make_user("root", Assign("all", Scope.DISTRICT, ["*"]))
    narrow = issue_token(session, settings=settings, user=admin, scope="identity.profile.*")
    wide = issue_token(session, settings=settings, user=admin, ttl=timedelta(minutes=1))
    session.commit()
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {narrow}"}).status_code == 403
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {wide}"}).status_code == 200


def test_a_deactivated_users_token_stops_working(
    client: TestClient, session: Session, settings: Settings, make_user: MakeUser
) -> None:
    _mount_protected(client.app)  # type: ignore[arg-type]
    user = make_user("leaver", Assign("all", Scope.DISTRICT, ["*"]))
    token = issue_token(session, settings=settings, user=user)
    user.active = False
    session.commit()
    response = client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
