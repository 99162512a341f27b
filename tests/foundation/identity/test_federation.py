"""Federated sign-in against a real upstream OIDC provider: a second CityOS installation
served over HTTP by uvicorn on a free port, with its own database, acting as the city's
unified identity platform."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from cityos.app import create_app
from cityos.foundation.identity.credentials import set_password
from cityos.foundation.identity.models import (
    Department,
    FederatedIdentity,
    OAuthClient,
    Role,
    RoleAssignment,
    Scope,
    User,
)
from cityos.foundation.identity.service import hash_password
from cityos.kernel import migrate
from cityos.kernel.db import make_engine
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime, build_runtime
from cityos.settings import Settings

ISSUER = "http://127.0.0.1:8000"
CALLBACK = f"{ISSUER}/oidc/federation/sz-uia/callback"
UPSTREAM_SECRET = "upstream-client-secret-" + "y" * 20
PASSWORD = "Shenzhen-Uia-2026!"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Upstream:
    issuer: str


@pytest.fixture
def upstream(runtime: Runtime, tmp_path: Path, registry: Registry) -> Iterator[Upstream]:
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'upstream.db'}"
    migrate.upgrade(make_engine(url), registry)
    settings = Settings(
        database_url=url,
        data_dir=tmp_path / "upstream",
        issuer=f"http://127.0.0.1:{port}",
        pii_master_key=SecretStr("upstream-pii-master-key-0123456789abcdef"),
        _env_file=None,  # type: ignore[call-arg]
    )
    upstream_runtime = build_runtime(settings)
    with upstream_runtime.unit_of_work() as session:
        department = Department(
            code="SZ-LH-CGJ", name_zh="罗湖区城管局", name_en="Urban management", kind="bureau"
        )
        session.add(department)
        session.flush()
        person = User(
            username="wangwu", display_name="王五", kind="staff", department_id=department.id
        )
        session.add(person)
        session.flush()
        set_password(session, user=person, password=PASSWORD, actor="test", settings=settings)
        session.add(
            OAuthClient(
                client_id="luohu-cityos",
                name_zh="罗湖城市平台",
                name_en="Luohu CityOS",
                secret_hash=hash_password(UPSTREAM_SECRET),
                redirect_uris=[CALLBACK],
                grant_types=["authorization_code"],
                scopes=["openid", "profile"],
                first_party=True,
            )
        )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime=upstream_runtime),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the upstream provider did not start"
        time.sleep(0.05)
    try:
        yield Upstream(issuer=settings.issuer)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        upstream_runtime.engine.dispose()


@pytest.fixture
def browser(
    runtime: Runtime, upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    federation_file = tmp_path / "federation.yaml"
    federation_file.write_text(
        f"""
providers:
  - id: sz-uia
    name: {{zh: 深圳市统一身份认证平台, en: Shenzhen unified identity}}
    issuer: {upstream.issuer}
    client_id: luohu-cityos
    client_secret_env: CITYOS_TEST_FED_SECRET
    claims: {{username: preferred_username, display_name: name, department: department}}
    departments: {{"SZ-LH-CGJ": urban-management}}
    create_users: true
    roles: [{{role: handler-fed, jurisdiction: ["440303003"]}}]
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("CITYOS_TEST_FED_SECRET", UPSTREAM_SECRET)
    settings = runtime.settings.model_copy(
        update={"issuer": ISSUER, "federation_file": federation_file}
    )
    local = Runtime(
        settings=settings,
        engine=runtime.engine,
        sessions=runtime.sessions,
        registry=runtime.registry,
    )
    with local.unit_of_work() as session:
        if session.scalar(select(Department).where(Department.code == "urban-management")) is None:
            session.add(
                Department(
                    code="urban-management", name_zh="区城管局", name_en="Urban", kind="bureau"
                )
            )
        session.add(
            Role(
                code="handler-fed",
                name_zh="处置员",
                name_en="Handler",
                permissions=["identity.profile.read"],
                scope=Scope.JURISDICTION,
            )
        )
    with TestClient(create_app(runtime=local), base_url=ISSUER) as client:
        yield client


def _sign_in_upstream(authorize_url: str) -> str:
    """Play the person at the upstream: sign in there; return where it sends them back."""
    with httpx.Client(timeout=10) as person:
        first = person.get(authorize_url)
        assert first.status_code == 303
        login_url = str(first.next_request.url) if first.next_request else ""
        page = person.get(login_url)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        return_to = parse_qs(urlsplit(login_url).query)["return_to"][0]
        done = person.post(
            str(page.url.copy_with(query=None)),
            data={
                "username": "wangwu",
                "password": PASSWORD,
                "csrf": csrf.group(1),
                "return_to": return_to,
            },
        )
        assert done.status_code == 303, done.text
        back = person.get(authorize_url)
        assert back.status_code == 302, back.text
        return str(back.headers["location"])


def _federated_sign_in(browser: TestClient) -> httpx.Response:
    start = browser.get("/oidc/federation/sz-uia/start", follow_redirects=False)
    assert start.status_code == 303
    callback = _sign_in_upstream(start.headers["location"])
    assert callback.startswith(CALLBACK)
    parts = urlsplit(callback)
    return browser.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def test_the_sign_in_page_offers_the_upstream(browser: TestClient) -> None:
    page = browser.get("/oidc/login")
    assert "深圳市统一身份认证平台" in page.text
    assert "/oidc/federation/sz-uia/start" in page.text


def test_a_person_signs_in_upstream_and_gets_a_mapped_local_account(
    browser: TestClient, runtime: Runtime
) -> None:
    answer = _federated_sign_in(browser)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/workbench/"
    assert "cityos_sso" in answer.cookies
    with runtime.unit_of_work() as session:
        user = session.scalars(select(User).where(User.username == "sz-uia:wangwu")).one()
        department = session.get(Department, user.department_id)
        assert user.display_name == "王五"
        assert department is not None
        assert department.code == "urban-management"
        roles = session.scalars(
            select(RoleAssignment).where(RoleAssignment.user_id == user.id)
        ).all()
        assert [(r.role, r.jurisdiction) for r in roles] == [("handler-fed", ["440303003"])]

    again = _federated_sign_in(browser)
    assert again.status_code == 303
    with runtime.unit_of_work() as session:
        links = session.scalars(
            select(FederatedIdentity).where(FederatedIdentity.provider == "sz-uia")
        ).all()
        assert len(links) == 1, "the second sign-in finds the same account"


def test_an_answer_with_another_state_is_refused(browser: TestClient) -> None:
    start = browser.get("/oidc/federation/sz-uia/start", follow_redirects=False)
    callback = _sign_in_upstream(start.headers["location"])
    parts = urlsplit(callback)
    forged = parts.query.replace("state=", "state=x")
    answer = browser.get(f"{parts.path}?{forged}", follow_redirects=False)
    assert answer.status_code == 400
    assert "cityos_sso" not in answer.cookies


def test_an_unknown_upstream_is_refused(browser: TestClient) -> None:
    assert browser.get("/oidc/federation/nowhere/start").status_code == 400
