"""``cityos auth token``: an operator's bearer token that the API accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends
from fastapi.testclient import TestClient

from cityos.app import create_app
from cityos.foundation.audit import query
from cityos.foundation.identity import Actor, require
from cityos.settings import Settings
from tests.test_cli import run


def test_auth_token_prints_a_token_the_api_accepts(tmp_path: Path) -> None:
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    loaded = run(["profile", "load", "luohu"], tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    result = run(["auth", "token", "--user", "admin", "--ttl", "600"], tmp_path)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.count(".") == 2

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
        response = client.get("/api/v1/_test/keys", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert response.json() == {"caller": "admin"}

    citizen = run(["auth", "token", "--user", "citizen"], tmp_path).stdout.strip().splitlines()[-1]
    with TestClient(app) as client:
        response = client.get("/api/v1/_test/keys", headers={"Authorization": f"Bearer {citizen}"})
        assert response.status_code == 403

    with app.state.runtime.unit_of_work() as session:
        issued = query(session, action="auth.token_issue").items
    assert len(issued) == 2
    assert all(entry.details["ttl_seconds"] in (600, 3600) for entry in issued)
    assert all(token not in str(entry.details) for entry in issued)


def test_auth_token_for_an_unknown_user_is_one_clear_line(tmp_path: Path) -> None:
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    result = run(["auth", "token", "--user", "nobody"], tmp_path)
    assert result.returncode == 2
    assert "no active user 'nobody'" in result.stderr
    assert result.stdout == ""
