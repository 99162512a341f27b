"""The OIDC provider end to end, with authlib's OAuth client as a real relying party
(talking HTTP to the app through the test client's transport) and a browser played by
the test client: sign-in page, cookies, redirects."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.httpx_client import OAuth2Client
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session

from cityos.foundation.audit.models import AuditRecord
from cityos.foundation.identity.credentials import set_password
from cityos.foundation.identity.models import (
    OAuthClient,
    OAuthRefreshToken,
    Role,
    Scope,
    TotpCredential,
    User,
    UserKind,
)
from cityos.foundation.identity.service import hash_password
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user

ISSUER = "http://127.0.0.1:8000"
SPA_REDIRECT = "http://127.0.0.1:9000/callback"
PASSWORD = "Luohu-Test-Pass-2026"
SYSTEM_SECRET = "system-secret-" + "x" * 30


@dataclass
class Provider:
    browser: TestClient
    runtime: Runtime

    def rp(self, client_id: str = "spa", **kwargs: object) -> OAuth2Client:
        """authlib's client, speaking to the provider over the app's transport."""
        options: dict[str, object] = {
            "redirect_uri": SPA_REDIRECT,
            "scope": "openid profile api offline_access",
            "code_challenge_method": "S256",
            **kwargs,
        }
        return OAuth2Client(client_id=client_id, transport=self.browser._transport, **options)

    def sign_in(self, username: str, password: str, return_to: str) -> None:
        page = self.browser.get("/oidc/login", params={"return_to": return_to})
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        answer = self.browser.post(
            "/oidc/login",
            data={
                "username": username,
                "password": password,
                "csrf": csrf.group(1),
                "return_to": return_to,
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text

    def authorize(self, url: str, username: str = "lihua", password: str = PASSWORD) -> str:
        """Play the browser from the authorization URL to the client's redirect; its URL."""
        first = self.browser.get(url, follow_redirects=False)
        if first.status_code == 303 and first.headers["location"].startswith("/oidc/login"):
            return_to = parse_qs(urlsplit(first.headers["location"]).query)["return_to"][0]
            self.sign_in(username, password, return_to)
            first = self.browser.get(url, follow_redirects=False)
        assert first.status_code == 302, first.text
        return str(first.headers["location"])


@pytest.fixture
def provider(runtime: Runtime) -> Iterator[Provider]:
    from cityos.app import create_app

    settings = runtime.settings.model_copy(update={"issuer": ISSUER})
    runtime = Runtime(
        settings=settings,
        engine=runtime.engine,
        sessions=runtime.sessions,
        registry=runtime.registry,
    )
    with runtime.unit_of_work() as session:
        user = create_user(session, "lihua", Assign("platform-admin-test", Scope.DISTRICT, ["*"]))
        user.display_name = "李华"
        set_password(session, user=user, password=PASSWORD, actor="test", settings=settings)
        system = create_user(
            session,
            "sys-ioc",
            Assign("system-geo", Scope.DISTRICT, ["geo.*"]),
            kind=UserKind.SYSTEM,
        )
        session.add_all(
            [
                OAuthClient(
                    client_id="spa",
                    name_zh="测试单页应用",
                    name_en="Test SPA",
                    redirect_uris=[SPA_REDIRECT],
                    post_logout_redirect_uris=["http://127.0.0.1:9000/"],
                    grant_types=["authorization_code", "refresh_token"],
                    scopes=["openid", "profile", "phone", "api", "offline_access"],
                    first_party=True,
                ),
                OAuthClient(
                    client_id="ioc-system",
                    name_zh="IOC 数据接入",
                    name_en="IOC ingestion",
                    secret_hash=hash_password(SYSTEM_SECRET),
                    grant_types=["client_credentials"],
                    scopes=["geo.*", "api"],
                    user_id=system.id,
                ),
            ]
        )
    with TestClient(create_app(runtime=runtime), base_url=ISSUER) as browser:
        yield Provider(browser, runtime)


def _authorization_url(rp: OAuth2Client, **extra: str) -> tuple[str, str, str, str]:
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(
        f"{ISSUER}/oidc/authorize", code_verifier=verifier, nonce=nonce, **extra
    )
    return url, state, verifier, nonce


def _sign_in_with_code(provider: Provider) -> tuple[OAuth2Client, dict[str, object], str]:
    rp = provider.rp()
    url, state, verifier, nonce = _authorization_url(rp)
    callback = provider.authorize(url)
    answer = parse_qs(urlsplit(callback).query)
    assert callback.startswith(SPA_REDIRECT)
    assert answer["state"] == [state]
    assert answer["iss"] == [ISSUER]
    token = rp.fetch_token(
        f"{ISSUER}/oidc/token", authorization_response=callback, code_verifier=verifier
    )
    return rp, dict(token), nonce


def test_discovery_names_every_endpoint_and_only_s256(provider: Provider) -> None:
    from authlib.oidc.discovery import OpenIDProviderMetadata

    document = provider.browser.get("/.well-known/openid-configuration").json()
    metadata = OpenIDProviderMetadata(document)
    metadata.validate()
    assert document["issuer"] == ISSUER
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["end_session_endpoint"] == f"{ISSUER}/oidc/logout"
    keys = provider.browser.get("/oidc/jwks").json()["keys"]
    assert keys
    assert all("d" not in key for key in keys), "JWKS must publish public keys only"


def test_code_flow_with_pkce_signs_in_and_the_tokens_work(
    provider: Provider, session: Session
) -> None:
    rp, token, nonce = _sign_in_with_code(provider)
    assert token["token_type"] == "Bearer"
    assert token["refresh_token"]

    keys = KeySet.import_key_set(provider.browser.get("/oidc/jwks").json())
    id_token = jwt.decode(str(token["id_token"]), keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": "spa"},
        nonce={"essential": True, "value": nonce},
    ).validate(id_token.claims)
    assert id_token.claims["name"] == "李华"
    assert id_token.claims["amr"] == ["pwd"]

    info = rp.get(f"{ISSUER}/oidc/userinfo").json()
    assert info["preferred_username"] == "lihua"
    assert info["sub"] == id_token.claims["sub"]

    # The access token is an ordinary bearer token of the platform's API.
    staff_only = rp.post(f"{ISSUER}/api/v1/geo/geocode/batch")
    assert staff_only.status_code not in (401, 403)


def test_a_token_without_the_api_scope_opens_no_api(provider: Provider) -> None:
    rp = provider.rp(scope="openid profile")
    url, _, verifier, _ = _authorization_url(rp)
    callback = provider.authorize(url)
    rp.fetch_token(f"{ISSUER}/oidc/token", authorization_response=callback, code_verifier=verifier)
    assert rp.get(f"{ISSUER}/oidc/userinfo").status_code == 200
    assert rp.post(f"{ISSUER}/api/v1/geo/geocode/batch").status_code == 403


def test_refresh_rotates_and_a_replayed_refresh_token_revokes_its_family(
    provider: Provider,
) -> None:
    rp, first, _ = _sign_in_with_code(provider)
    second = rp.refresh_token(f"{ISSUER}/oidc/token", refresh_token=str(first["refresh_token"]))
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]

    replay = provider.browser.post(
        "/oidc/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": "spa",
        },
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The thief's replay also ends the legitimate holder's newer token: both re-sign in.
    after = provider.browser.post(
        "/oidc/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": second["refresh_token"],
            "client_id": "spa",
        },
    )
    assert after.status_code == 400


def test_client_credentials_give_a_system_a_narrow_token(provider: Provider) -> None:
    rp = OAuth2Client(
        client_id="ioc-system",
        client_secret=SYSTEM_SECRET,
        scope="geo.*",
        transport=provider.browser._transport,
    )
    token = rp.fetch_token(f"{ISSUER}/oidc/token", grant_type="client_credentials")
    assert token["scope"] == "geo.*"
    assert "refresh_token" not in token
    assert rp.post(f"{ISSUER}/api/v1/geo/geocode/batch").status_code not in (401, 403)

    wrong = provider.browser.post(
        "/oidc/token",
        data={"grant_type": "client_credentials"},
        auth=("ioc-system", "not-the-secret"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    public = provider.browser.post(
        "/oidc/token", data={"grant_type": "client_credentials", "client_id": "spa"}
    )
    assert public.status_code in (400, 401)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        SPA_REDIRECT + "/../evil",
        SPA_REDIRECT + "?next=https://evil.example",
        "http://127.0.0.1:9000/callbacK",
        "https://evil.example/callback",
    ],
)
def test_a_redirect_uri_not_registered_exactly_is_refused_on_our_own_page(
    provider: Provider, redirect_uri: str
) -> None:
    rp = provider.rp(redirect_uri=redirect_uri)
    url, *_ = _authorization_url(rp)
    answer = provider.browser.get(url, follow_redirects=False)
    assert answer.status_code == 400
    assert "location" not in answer.headers


def test_a_public_client_must_use_pkce_with_s256(provider: Provider) -> None:
    rp = provider.rp(code_challenge_method=None)
    url, _ = rp.create_authorization_url(f"{ISSUER}/oidc/authorize", nonce="n")
    answer = provider.browser.get(url, follow_redirects=False)
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_request"]

    verifier = secrets.token_urlsafe(48)
    plain, _ = provider.rp(code_challenge_method="plain").create_authorization_url(
        f"{ISSUER}/oidc/authorize", code_verifier=verifier
    )
    refused = provider.browser.get(plain, follow_redirects=False)
    assert parse_qs(urlsplit(refused.headers["location"]).query)["error"] == ["invalid_request"]


def test_a_wrong_code_verifier_or_a_reused_code_gets_nothing(
    provider: Provider, session: Session
) -> None:
    rp = provider.rp()
    url, _, verifier, _ = _authorization_url(rp)
    callback = provider.authorize(url)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    base = {"grant_type": "authorization_code", "code": code, "redirect_uri": SPA_REDIRECT}
    wrong = provider.browser.post(
        "/oidc/token", data={**base, "client_id": "spa", "code_verifier": "x" * 50}
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"

    url, _, verifier, _ = _authorization_url(rp)
    callback = provider.authorize(url)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    base["code"] = code
    first = provider.browser.post(
        "/oidc/token", data={**base, "client_id": "spa", "code_verifier": verifier}
    )
    assert first.status_code == 200
    again = provider.browser.post(
        "/oidc/token", data={**base, "client_id": "spa", "code_verifier": verifier}
    )
    assert again.status_code == 400
    # A code used twice was intercepted: the refresh token of its first use is revoked.
    refresh = provider.browser.post(
        "/oidc/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": "spa",
        },
    )
    assert refresh.status_code == 400


def test_a_wrong_password_and_an_unknown_user_get_the_same_refusal(provider: Provider) -> None:
    pages = []
    for username, password in (("lihua", "wrong-password-1"), ("nobody-here", "whatever-123")):
        login = provider.browser.get("/oidc/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert csrf is not None
        pages.append(
            provider.browser.post(
                "/oidc/login",
                data={"username": username, "password": password, "csrf": csrf.group(1)},
            )
        )
    assert [p.status_code for p in pages] == [401, 401]
    refusal = re.compile(r'<p class="error" role="alert">([^<]+)</p>')
    first, second = (refusal.search(p.text) for p in pages)
    assert first is not None
    assert second is not None
    assert first.group(1) == second.group(1)
    with provider.runtime.unit_of_work() as session:
        outcomes = session.scalars(
            select(AuditRecord.outcome).where(AuditRecord.action == "auth.sign_in")
        ).all()
    assert outcomes.count("failure") >= 2


def test_a_forged_sign_in_form_is_refused(provider: Provider) -> None:
    answer = provider.browser.post(
        "/oidc/login", data={"username": "lihua", "password": PASSWORD, "csrf": "forged"}
    )
    assert answer.status_code == 400
    assert "cityos_sso" not in answer.cookies


def test_a_sign_in_never_redirects_off_the_provider(provider: Provider) -> None:
    login = provider.browser.get("/oidc/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf is not None
    answer = provider.browser.post(
        "/oidc/login",
        data={
            "username": "lihua",
            "password": PASSWORD,
            "csrf": csrf.group(1),
            "return_to": "https://evil.example/oidc/authorize",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/workbench/"


def test_sign_out_ends_the_session_and_its_refresh_tokens(provider: Provider) -> None:
    _rp, token, _ = _sign_in_with_code(provider)
    answer = provider.browser.get(
        "/oidc/logout",
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": "http://127.0.0.1:9000/",
            "state": "bye",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 302
    assert answer.headers["location"] == "http://127.0.0.1:9000/?state=bye"
    with provider.runtime.unit_of_work() as session:
        live = session.scalars(
            select(OAuthRefreshToken).where(OAuthRefreshToken.revoked_at.is_(None))
        ).all()
    assert live == []
    # The next authorization needs a new sign-in.
    url, *_ = _authorization_url(provider.rp())
    again = provider.browser.get(url, follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/oidc/login")


def test_sign_out_without_an_id_token_asks_first(provider: Provider) -> None:
    _sign_in_with_code(provider)
    stray = provider.browser.get(
        "/oidc/logout", params={"client_id": "spa"}, follow_redirects=False
    )
    assert stray.status_code == 200
    assert 'action="/oidc/logout"' in stray.text
    url, *_ = _authorization_url(provider.rp())
    assert provider.browser.get(url, follow_redirects=False).status_code == 302


def test_the_sign_in_page_speaks_chinese_first_and_english_on_request(
    provider: Provider,
) -> None:
    chinese = provider.browser.get("/oidc/login")
    assert "用户名" in chinese.text
    assert "登录" in chinese.text
    english = provider.browser.get("/oidc/login", params={"lang": "en"})
    assert "Username" in english.text
    browser_english = provider.browser.get("/oidc/login", headers={"Accept-Language": "en-GB"})
    assert "Username" in browser_english.text


def test_an_inactive_user_cannot_use_a_refresh_token(provider: Provider) -> None:
    _, token, _ = _sign_in_with_code(provider)
    with provider.runtime.unit_of_work() as session:
        user = session.scalars(select(User).where(User.username == "lihua")).one()
        user.active = False
    answer = provider.browser.post(
        "/oidc/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": "spa",
        },
    )
    assert answer.status_code == 400


def _code_for(secret: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).now()


def _password_step(provider: Provider, return_to: str) -> str:
    page = provider.browser.get("/oidc/login", params={"return_to": return_to})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = provider.browser.post(
        "/oidc/login",
        data={
            "username": "lihua",
            "password": PASSWORD,
            "csrf": csrf.group(1),
            "return_to": return_to,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return str(answer.headers["location"])


def test_an_enrolled_authenticator_is_asked_for_after_the_password(provider: Provider) -> None:
    from cityos.foundation.identity.mfa import begin_totp_enrolment, confirm_totp

    settings = provider.runtime.settings
    with provider.runtime.unit_of_work() as session:
        user = session.scalars(select(User).where(User.username == "lihua")).one()
        enrolment = begin_totp_enrolment(session, settings=settings, user=user)
        assert confirm_totp(session, settings=settings, user=user, code=_code_for(enrolment.secret))
        session.execute(
            sa_update(TotpCredential)
            .where(TotpCredential.user_id == user.id)
            .values(last_step=0)  # let the same time step's code sign in below
        )
    rp = provider.rp()
    url, _, verifier, _ = _authorization_url(rp)
    first = provider.browser.get(url, follow_redirects=False)
    return_to = parse_qs(urlsplit(first.headers["location"]).query)["return_to"][0]
    assert _password_step(provider, return_to) == "/oidc/login/mfa"
    page = provider.browser.get("/oidc/login/mfa")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    wrong = provider.browser.post("/oidc/login/mfa", data={"code": "000000", "csrf": csrf.group(1)})
    assert wrong.status_code == 401
    right = provider.browser.post(
        "/oidc/login/mfa",
        data={"code": _code_for(enrolment.secret), "csrf": csrf.group(1)},
        follow_redirects=False,
    )
    assert right.status_code == 303
    callback = provider.browser.get(url, follow_redirects=False).headers["location"]
    token = rp.fetch_token(
        f"{ISSUER}/oidc/token", authorization_response=callback, code_verifier=verifier
    )
    keys = KeySet.import_key_set(provider.browser.get("/oidc/jwks").json())
    claims = jwt.decode(str(token["id_token"]), keys, algorithms=["RS256"]).claims
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_production_makes_an_administrator_set_up_an_authenticator(
    provider: Provider,
) -> None:
    from pydantic import SecretStr

    from cityos.app import create_app
    from cityos.settings import Mode

    settings = provider.runtime.settings.model_copy(
        update={"mode": Mode.PRODUCTION, "secret_key": SecretStr("s" * 40)}
    )
    with provider.runtime.unit_of_work() as session:
        session.execute(
            sa_update(Role).where(Role.code == "platform-admin-test").values(mfa_required=True)
        )
    runtime = Runtime(
        settings=settings,
        engine=provider.runtime.engine,
        sessions=provider.runtime.sessions,
        registry=provider.runtime.registry,
    )
    with TestClient(create_app(runtime=runtime), base_url=ISSUER) as browser:
        production = Provider(browser, runtime)
        assert _password_step(production, "/oidc/authorize?x=1") == "/oidc/login/mfa-setup"
        page = browser.get("/oidc/login/mfa-setup")
        secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert secret is not None
        assert csrf is not None
        assert "<svg" in page.text
        wrong = browser.post(
            "/oidc/login/mfa-setup", data={"code": "000000", "csrf": csrf.group(1)}
        )
        assert wrong.status_code == 401
        assert secret.group(1) in wrong.text, "a wrong code keeps the authenticator scanned"
        done = browser.post(
            "/oidc/login/mfa-setup",
            data={"code": _code_for(secret.group(1)), "csrf": csrf.group(1)},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert "cityos_sso" in done.cookies


def test_a_signed_in_person_sets_up_an_authenticator_of_their_own_accord(
    provider: Provider,
) -> None:
    away = provider.browser.get("/oidc/account/mfa", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"].startswith("/oidc/login?return_to=%2Foidc%2Faccount%2Fmfa")
    assert _password_step(provider, "/oidc/account/mfa") == "/oidc/account/mfa"
    page = provider.browser.get("/oidc/account/mfa")
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert secret is not None
    assert csrf is not None
    done = provider.browser.post(
        "/oidc/account/mfa", data={"code": _code_for(secret.group(1)), "csrf": csrf.group(1)}
    )
    assert done.status_code == 200
    assert "身份验证器已绑定" in done.text
    # From now on the password alone is not enough.
    assert _password_step(provider, "/oidc/authorize?x=1") == "/oidc/login/mfa"
