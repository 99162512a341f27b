"""Callers of the SensorThings API: people holding telemetry roles, signed in by token."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from cityos.foundation.identity import issue_token
from cityos.foundation.identity.models import Scope
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user

STA = "/sta/v1.1"
READ_WRITE = ("telemetry.read", "telemetry.write")


@dataclass
class Caller:
    """A client speaking for one user."""

    client: TestClient
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> Response:
        return self.client.get(f"{STA}/{path}", params=params, headers=self.headers)

    def post(self, path: str, body: Any) -> Response:
        return self.client.post(f"{STA}/{path}", json=body, headers=self.headers)

    def patch(self, path: str, body: Any, content_type: str = "application/json") -> Response:
        return self.client.request(
            "PATCH",
            f"{STA}/{path}",
            content=json.dumps(body),
            headers={**self.headers, "Content-Type": content_type},
        )

    def delete(self, path: str) -> Response:
        return self.client.delete(f"{STA}/{path}", headers=self.headers)

    def value(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """The ``value`` of a collection read, which must succeed."""
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["value"]
        return found


def make_caller(
    client: TestClient,
    runtime: Runtime,
    username: str,
    permissions: Sequence[str] = READ_WRITE,
    *,
    jurisdiction: Sequence[str] = (),
) -> Caller:
    """A user holding ``permissions`` district-wide, or within ``jurisdiction``."""
    scope = Scope.JURISDICTION if jurisdiction else Scope.DISTRICT
    with runtime.unit_of_work() as session:
        user = create_user(
            session,
            username,
            Assign(f"sta-{username}", scope, list(permissions), jurisdiction=jurisdiction),
        )
        token = issue_token(session, settings=runtime.settings, user=user)
    return Caller(client, token)


@pytest.fixture
def sta(client: TestClient, runtime: Runtime) -> Caller:
    """A district-wide sensing operator who may read and write."""
    return make_caller(client, runtime, "sta-operator")
