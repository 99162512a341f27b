"""The access matrix of issue 4: every protected route against every Luohu role, forged and
spent tokens, jurisdiction and citizen reach through ``scoped``, and the sign-in lock, all
through the app as a caller meets it."""

from __future__ import annotations

import base64
import functools
import json
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Column, MetaData, String, Table, Uuid, insert, select
from sqlalchemy.orm import Session

from cityos.app import create_app
from cityos.foundation.audit.models import AuditRecord
from cityos.foundation.identity import issue_token, load_actor, revoke_token, scoped, verify_token
from cityos.foundation.identity.credentials import set_password
from cityos.foundation.identity.models import KeyStatus, Scope, SigningKey, User, UserKind
from cityos.foundation.identity.permissions import expand
from cityos.foundation.identity.sealing import seal, unseal
from cityos.foundation.identity.tokens import active_signing_key
from cityos.kernel import profiles
from cityos.kernel.access import PUBLIC, api_routes, route_permission
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from cityos.settings import Settings
from tests.factories.identity import Assign, create_user

ROLES: dict[str, dict[str, Any]] = {
    entry["id"]: entry
    for entry in yaml.safe_load(
        (profiles.PROFILES_DIR / "luohu" / "roles.yaml").read_text(encoding="utf-8")
    )["roles"]
}
KINDS = {"citizen": UserKind.CITIZEN, "enterprise": UserKind.ENTERPRISE}
DONGMEN, HUANGBEI = "440303003", "440303001"
GRID = f"{DONGMEN}001001"
PATH_PARAMETER = re.compile(r"\{[^}]+\}")
WRITES = {"POST", "PUT", "PATCH"}


def _protected_routes() -> list[tuple[str, str, str]]:
    """(path, method, permission) of every mounted route that needs a permission, read from
    an app built on an empty in-memory database so the matrix is known at collection."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url="sqlite://",
            data_dir=Path(folder),
            _env_file=None,  # type: ignore[call-arg]
        )
        app = create_app(settings)
        try:
            return _routes_needing_permission(app)
        finally:
            app.state.runtime.close()


# Open311 takes API keys only, as its spec says, and answers in the spec's own error
# format; tests/domains/cases/test_open311.py covers who may post there.
KEY_ONLY = ("/open311/",)
# Streams answer a permitted caller forever, so only their refusals are checked here;
# tests/platforms/ioc/test_live.py covers what they send.
STREAMS = ("/api/v1/live", "/api/v1/ioc/stream")


def _routes_needing_permission(app: FastAPI) -> list[tuple[str, str, str]]:
    return sorted(
        (route.path, method, permission)
        for route in api_routes(app)
        if (permission := route_permission(route)) not in {PUBLIC, None}
        and not route.path.startswith(KEY_ONLY)
        for method in route.methods
    )


PROTECTED = _protected_routes()


def _call(client: TestClient, path: str, method: str, token: str | None = None) -> Any:
    """Call a route with dummy path values (a fresh UUID fits every parameter's syntax)."""
    url = PATH_PARAMETER.sub(lambda _: str(uuid.uuid4()), path)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body: dict[str, Any] | None = {} if method in WRITES else None
    return client.request(method, url, headers=headers, json=body)


def _holder(
    session: Session, role: str, *, username: str | None = None, jurisdiction: tuple[str, ...] = ()
) -> User:
    """A user holding one Luohu role exactly as roles.yaml defines it."""
    entry = ROLES[role]
    scope = Scope(entry["scope"])
    if scope is Scope.JURISDICTION and not jurisdiction:
        jurisdiction = (DONGMEN,)
    return create_user(
        session,
        username or f"holder-{role}",
        Assign(role, scope, entry["permissions"], jurisdiction=jurisdiction),
        kind=KINDS.get(role, UserKind.STAFF),
    )


def _token_for(runtime: Runtime, role: str, *, scope: str | None = None) -> str:
    with runtime.unit_of_work() as session:
        user = _holder(session, role)
        return issue_token(session, settings=runtime.settings, user=user, scope=scope)


# --- routes x roles ---------------------------------------------------------------------


@functools.cache
def _run_key() -> tuple[bytes, dict[str, Any]]:
    """The private PEM and public JWK of one RSA key for the whole run."""
    key = RSAKey.generate_key(2048)
    return key.as_pem(private=True), dict(key.as_dict(private=False))


@pytest.fixture
def shared_signing_key(runtime: Runtime) -> None:
    """The run's key, installed as the active signing key in each test's transaction: a
    fresh key per test (what the first token would make) costs the matrix's few hundred
    tests minutes. Tokens are still issued and verified by the real code."""
    pem, public_jwk = _run_key()
    kid = uuid.uuid4().hex
    with runtime.unit_of_work() as session:
        session.add(
            SigningKey(
                kid=kid,
                algorithm="RS256",
                private_key=seal(runtime.settings, context=kid, data=pem),
                public_jwk={**public_jwk, "kid": kid, "alg": "RS256", "use": "sig"},
                status=KeyStatus.ACTIVE,
            )
        )


@pytest.mark.usefixtures("shared_signing_key")
@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_role_reaches_a_route_exactly_when_it_holds_the_permission(
    client: TestClient, runtime: Runtime, registry: Registry, role: str
) -> None:
    """Every protected route for one role: 403 ``permission_denied`` without the route's
    permission, anything but 401/403 with it. One app and one token per role keeps the
    matrix (routes × roles × both databases) quick; every miss is listed together."""
    held = expand(ROLES[role]["permissions"], registry.permissions())
    token = _token_for(runtime, role)
    wrong: list[tuple[str, str, str, int]] = []
    for path, method, permission in PROTECTED:
        if permission in held and path in STREAMS:
            continue
        response = _call(client, path, method, token)
        if permission in held:
            if response.status_code in {401, 403}:
                wrong.append((path, method, role, response.status_code))
        elif response.status_code != 403 or response.json().get("code") != "permission_denied":
            wrong.append((path, method, role, response.status_code))
    assert wrong == [], f"(route, method, role, status) answered wrongly: {wrong}"


def test_a_token_narrowed_to_geocoding_opens_no_identity_route(
    client: TestClient, runtime: Runtime
) -> None:
    token = _token_for(runtime, "platform-admin", scope="geo.geocode.batch")
    identity = [(p, m) for p, m, _ in PROTECTED if p.startswith("/api/v1/identity/")]
    assert identity
    leaks = [
        (path, method, status)
        for path, method in identity
        if (status := _call(client, path, method, token).status_code) != 403
    ]
    assert leaks == [], f"identity routes not refused to a geocoding-only token: {leaks}"
    batch = _call(client, "/api/v1/geo/geocode/batch", "POST", token)
    assert batch.status_code not in {401, 403}, "the narrowed token should still geocode"


# --- spent and forged tokens ------------------------------------------------------------

ME = "/api/v1/identity/me"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def _signed_with_our_key(session: Session, settings: Settings, claims: dict[str, Any]) -> str:
    """What only the platform can make: ``claims`` signed with its active key."""
    row = active_signing_key(session, settings=settings)
    key = RSAKey.import_key(unseal(settings, context=row.kid, stored=row.private_key))
    return jwt.encode({"alg": "RS256", "kid": row.kid}, claims, key, algorithms=["RS256"])


def _bad_token(kind: str, session: Session, settings: Settings, genuine: str) -> str:
    claims = _claims(genuine)
    header, payload, signature = genuine.split(".")
    if kind == "expired":
        past = claims["iat"] - 7200
        return _signed_with_our_key(
            session, settings, {**claims, "iat": past, "nbf": past, "exp": past + 60}
        )
    if kind == "revoked":
        verified = verify_token(session, genuine, settings=settings)
        revoke_token(session, jti=verified.jti, expires_at=verified.expires_at)
        return genuine
    if kind == "another-key":
        stranger = RSAKey.generate_key(2048)
        kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
        return jwt.encode({"alg": "RS256", "kid": kid}, claims, stranger, algorithms=["RS256"])
    if kind == "alg-none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    if kind == "changed-payload":
        return f"{header}.{_b64({**claims, 'sub': str(uuid.uuid4())})}.{signature}"
    raise ValueError(kind)


@pytest.fixture
def genuine(runtime: Runtime) -> str:
    """A platform administrator's token, which opens every route until spoiled."""
    return _token_for(runtime, "platform-admin")


def _generic(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return {k: v for k, v in body.items() if k != "request_id"}


def test_the_genuine_token_and_our_own_re_signing_are_accepted(
    client: TestClient, runtime: Runtime, genuine: str
) -> None:
    """The control for the refusals below: what they spoil works when unspoiled."""
    assert _call(client, ME, "GET", genuine).status_code == 200
    with runtime.unit_of_work() as session:
        resigned = _signed_with_our_key(session, runtime.settings, _claims(genuine))
    assert _call(client, ME, "GET", resigned).status_code == 200


@pytest.mark.parametrize(
    "kind", ["expired", "revoked", "another-key", "alg-none", "changed-payload"]
)
def test_a_spent_or_forged_token_gets_the_generic_401(
    client: TestClient, runtime: Runtime, genuine: str, kind: str
) -> None:
    with runtime.unit_of_work() as session:
        token = _bad_token(kind, session, runtime.settings, genuine)
    refused = _call(client, ME, "GET", token)
    garbage = _call(client, ME, "GET", "not-a-token")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"] == garbage.headers["www-authenticate"]
    assert _generic(refused) == _generic(garbage)
    assert refused.json()["code"] == "unauthenticated"


# --- jurisdiction and citizen reach -----------------------------------------------------

metadata = MetaData()
record = Table(
    "security_matrix_record",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("region_code", String(15), nullable=False),
    Column("owner_id", Uuid, nullable=True),
)
ALL = {"huangbei-a", "huangbei-b", "dongmen-grid", "dongmen-next-grid", "dongmen-community"}
# (label, role, jurisdiction, the rows that role may see)
REACH = [
    (
        "dongmen-handler",
        "handler",
        (DONGMEN,),
        {"dongmen-grid", "dongmen-next-grid", "dongmen-community"},
    ),
    ("huangbei-handler", "handler", (HUANGBEI,), {"huangbei-a", "huangbei-b"}),
    ("grid-inspector", "grid-inspector", (GRID,), {"dongmen-grid"}),
    ("citizen-a", "citizen", (), {"huangbei-a", "dongmen-community"}),
    ("citizen-b", "citizen", (), {"dongmen-grid"}),
    ("enterprise", "enterprise", (), {"huangbei-b"}),
    *((role, role, (), ALL) for role in sorted(ROLES) if ROLES[role]["scope"] == "district"),
]


@pytest.fixture
def owners(session: Session) -> dict[str, User]:
    """Two citizens and an enterprise, each owning rows of a throw-away table made inside
    the test's rolled-back transaction."""
    people = {
        "citizen-a": _holder(session, "citizen", username="citizen-a"),
        "citizen-b": _holder(session, "citizen", username="citizen-b"),
        "enterprise": _holder(session, "enterprise", username="enterprise"),
    }
    connection = session.connection()
    metadata.create_all(connection)
    a, b, firm = (people[k].id for k in ("citizen-a", "citizen-b", "enterprise"))
    rows = [
        ("huangbei-a", f"{HUANGBEI}002", a),
        ("huangbei-b", f"{HUANGBEI}005001", firm),
        ("dongmen-grid", GRID, b),
        ("dongmen-next-grid", f"{DONGMEN}001002", None),
        ("dongmen-community", f"{DONGMEN}002", a),
    ]
    connection.execute(
        insert(record), [{"name": n, "region_code": r, "owner_id": o} for n, r, o in rows]
    )
    return people


@pytest.mark.parametrize(
    ("label", "role", "jurisdiction", "expected"), REACH, ids=[r[0] for r in REACH]
)
def test_each_role_sees_exactly_its_reach(
    session: Session,
    registry: Registry,
    owners: dict[str, User],
    label: str,
    role: str,
    jurisdiction: tuple[str, ...],
    expected: set[str],
) -> None:
    user = owners.get(label) or _holder(session, role, username=label, jurisdiction=jurisdiction)
    actor = load_actor(session, user_id=user.id, declared=registry.permissions())
    assert actor is not None
    stmt = scoped(
        select(record.c.name),
        actor,
        region_column=record.c.region_code,
        owner_column=record.c.owner_id,
    )
    assert set(session.scalars(stmt)) == expected


# --- the sign-in lock over HTTP ---------------------------------------------------------

PASSWORD = "Luohu-Test-Pass-2026"
REFUSAL = re.compile(r'<p class="error" role="alert">([^<]+)</p>')


def _sign_in(client: TestClient, username: str, password: str) -> Any:
    page = client.get("/oidc/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return client.post(
        "/oidc/login",
        data={"username": username, "password": password, "csrf": csrf.group(1), "return_to": "/"},
        follow_redirects=False,
    )


def test_five_wrong_passwords_lock_out_even_the_right_one(
    client: TestClient, runtime: Runtime
) -> None:
    with runtime.unit_of_work() as session:
        user = _holder(session, "dispatcher", username="locked-out")
        set_password(session, user=user, password=PASSWORD, actor="test", settings=runtime.settings)
    wrong = [_sign_in(client, "locked-out", f"Wrong-Guess-{n}-2026") for n in range(5)]
    assert [r.status_code for r in wrong] == [401] * 5
    right = _sign_in(client, "locked-out", PASSWORD)
    assert right.status_code == 401
    first, last = REFUSAL.search(wrong[0].text), REFUSAL.search(right.text)
    assert first is not None
    assert last is not None
    assert last.group(1) == first.group(1)
    assert "cityos_sso" not in right.cookies
    with runtime.unit_of_work() as session:
        outcomes = session.execute(
            select(AuditRecord.outcome, AuditRecord.details)
            .where(AuditRecord.action == "auth.sign_in", AuditRecord.actor == "locked-out")
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
        ).all()
    assert [o for o, _ in outcomes] == ["failure"] * 5 + ["denied"]
    assert outcomes[-1][1]["reason"] == "locked"
