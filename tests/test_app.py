"""The app as a caller sees it: probes, metadata, OpenAPI, problem+json, request ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityos.app import create_app
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.settings import Settings


def test_healthz_answers_while_the_process_runs(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_migrations(client: TestClient) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "migrations": "current"}
    assert isinstance(body["warnings"], list)


def test_metrics_are_prometheus_text_and_count_requests(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'cityos_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text


def test_openapi_is_3_1_and_our_api_lives_under_api_v1(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    ours = [path for path in spec["paths"] if path not in {"/healthz", "/readyz", "/metrics"}]
    assert ours, "the API should publish its own paths"
    # Standards keep their own roots: OGC SensorThings at /sta/v1.1 (Open311 and OIDC are
    # outside the schema).
    assert all(path.startswith(("/api/v1/", "/sta/v1.1/")) for path in ours)
    assert client.get("/docs").status_code == 200


def test_unknown_route_is_problem_json_404_in_the_callers_language(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "route_not_found"
    assert body["title"] == "No such endpoint"
    assert body["status"] == 404
    assert body["instance"] == "/api/v1/no-such-thing"
    chinese = client.get("/api/v1/no-such-thing").json()
    assert chinese["title"] == "接口不存在"


def test_request_id_is_kept_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32
    problem = client.get("/nowhere", headers={"X-Request-ID": "trace-me"}).json()
    assert problem["request_id"] == "trace-me"


class Report(BaseModel):
    title: str
    count: int


def test_validation_errors_list_every_bad_field(client: TestClient) -> None:
    @client.app.post("/api/v1/_test/report")  # type: ignore[attr-defined,untyped-decorator]
    def report(body: Report) -> dict[str, str]:
        return {"ok": "yes"}

    response = client.post("/api/v1/_test/report", json={"count": "many"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_failed"
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"body.title", "body.count"}


def test_meta_shows_the_loaded_district(
    client: TestClient, session: Session, registry: Registry, settings: Settings
) -> None:
    assert client.get("/api/v1/meta").json()["name"] is None
    profiles.load(session, root=profiles.resolve("luohu"), registry=registry, settings=settings)
    session.commit()
    meta = client.get("/api/v1/meta").json()
    assert meta["name"] == {"zh": "罗湖区", "en": "Luohu District"}
    assert meta["code"] == "440303"
    assert meta["mode"] == "demo"
    assert meta["locales"] == ["zh-CN", "en"]


@pytest.mark.parametrize("page", ["/ioc/", "/portal/", "/workbench/"])
def test_web_pages_are_served(client: TestClient, page: str) -> None:
    from cityos.app import web_dist

    settings: Settings = client.app.state.runtime.settings  # type: ignore[attr-defined]
    built = web_dist(settings) / page.strip("/") / "index.html"
    assert built.exists(), "web/dist is not built: run `make web` (make test builds it)"
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_readyz_is_503_while_migrations_are_pending(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'empty.db'}",
        data_dir=tmp_path,
    )
    with TestClient(create_app(settings)) as fresh:
        response = fresh.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "ok", "migrations": "pending"}
        assert fresh.get("/healthz").status_code == 200


# Routes anyone may call: probes, platform metadata and the district's published reference
# geography. Every other route declares a permission (tests/foundation/identity checks
# that); a route that changes data or reveals personal data must never join this list.
PUBLIC_ROUTES = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/meta",
    *(
        f"/api/v1/geo/{path}"
        for path in (
            "regions",
            "regions/{code}",
            "locate",
            "geocode",
            "reverse",
            "transform",
            "collections",
            "collections/{layer_id}",
            "collections/{layer_id}/items",
            "collections/{layer_id}/within",
            "collections/{layer_id}/nearest",
            "aggregate",
        )
    ),
    # The service-item catalogue (事项清单): what the district publishes about its services.
    "/api/v1/onestop/items",
    "/api/v1/onestop/items/{code}",
    "/api/v1/onestop/life-events",
}
# Public POSTs compute over what they are sent and store nothing.
PUBLIC_POSTS = {"/api/v1/geo/aggregate", "/api/v1/geo/collections/{layer_id}/within"}
# The OIDC provider: how one gets credentials, so public by nature; each judges the
# credentials it is sent (client secret, PKCE verifier, password, code, bearer token).
OIDC_ROUTES = {
    ("/.well-known/openid-configuration", "GET"),
    ("/.well-known/oauth-authorization-server", "GET"),
    ("/oidc/jwks", "GET"),
    ("/oidc/authorize", "GET"),
    ("/oidc/token", "POST"),
    ("/oidc/revoke", "POST"),
    ("/oidc/userinfo", "GET"),
    ("/oidc/userinfo", "POST"),
    ("/oidc/logout", "GET"),
    ("/oidc/logout", "POST"),
    ("/oidc/login", "GET"),
    ("/oidc/login", "POST"),
    ("/oidc/login/sms", "POST"),
    ("/oidc/login/mfa", "GET"),
    ("/oidc/login/mfa", "POST"),
    ("/oidc/login/mfa-setup", "GET"),
    ("/oidc/login/mfa-setup", "POST"),
    ("/oidc/federation/{provider_id}/start", "GET"),
    ("/oidc/federation/{provider_id}/callback", "GET"),
    ("/oidc/account/mfa", "GET"),
    ("/oidc/account/mfa", "POST"),
}

# Open311 GeoReport v2: anyone may read the catalogue and the public view of requests
# (no personal data); submitting one (``POST requests``) needs an API key.
OPEN311_ROUTES = {
    (f"/open311/v2/{path}", "GET")
    for path in (
        "discovery.{fmt}",
        "services.{fmt}",
        "services/{service_code}.{fmt}",
        "tokens/{token}.{fmt}",
        "requests.{fmt}",
        "requests/{service_request_id}.{fmt}",
    )
}


# The SensorThings service root: the list of entity sets and conformance classes, no data.
STA_ROUTES = {("/sta/v1.1", "GET"), ("/sta/v1.1/", "GET")}


def test_the_public_routes_are_exactly_these(client: TestClient) -> None:
    from cityos.kernel.access import PUBLIC, api_routes, route_permission

    public = {
        (route.path, method)
        for route in api_routes(client.app)  # type: ignore[arg-type]
        for method in route.methods
        if route_permission(route) == PUBLIC
    }
    expected = {
        (path, "POST" if path in PUBLIC_POSTS else "GET")
        for path in PUBLIC_ROUTES
        if path.startswith("/api/")
    }
    assert public == expected | OIDC_ROUTES | OPEN311_ROUTES | STA_ROUTES


def test_calendar_warnings_come_in_the_callers_language(
    client: TestClient, session: Session
) -> None:
    from datetime import UTC, datetime

    from cityos.kernel.calendar import coverage_warnings

    now = datetime.now(UTC)
    chinese = client.get("/api/v1/meta").json()["calendar_warnings"]
    english = client.get("/api/v1/meta", headers={"Accept-Language": "en"}).json()
    assert chinese == coverage_warnings(session, now=now, locale="zh-CN")
    assert english["calendar_warnings"] == coverage_warnings(session, now=now, locale="en")
    autumn = datetime(2026, 11, 1, tzinfo=UTC)  # 2027 is known to neither package nor profile
    assert coverage_warnings(session, now=autumn)[0].startswith("2027 年节假日安排尚未配置")
    assert coverage_warnings(session, now=autumn, locale="en")[0].startswith("Holidays for 2027")
