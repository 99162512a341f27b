"""The provider's HTTP face: discovery, JWKS, authorize, token, userinfo, revocation,
end-session, and the sign-in pages. Every route here is public by nature (it is how one
gets credentials); what each accepts is decided by the protocol and the credentials sent.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.identity import federation
from cityos.foundation.identity.credentials import authenticate_password
from cityos.foundation.identity.mfa import (
    begin_totp_enrolment,
    confirm_totp,
    has_totp,
    pending_totp_enrolment,
    totp_required,
    verify_totp,
)
from cityos.foundation.identity.models import SignInFlow, User
from cityos.foundation.identity.oidc import browser
from cityos.foundation.identity.oidc.pages import page_locale, render, text
from cityos.foundation.identity.oidc.server import (
    ACCESS_TOKEN_TTL,
    SUPPORTED_SCOPES,
    HttpRequest,
    Provider,
    user_claims,
)
from cityos.foundation.identity.sms import send_sign_in_code, verify_sign_in_code
from cityos.foundation.identity.tokens import ALGORITHM, active_signing_key, jwks, verify_token
from cityos.kernel.access import public
from cityos.kernel.errors import TooManyRequests, Unauthenticated, ValidationFailed
from cityos.kernel.http import DbSession, RuntimeDep
from cityos.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False, dependencies=[Depends(public())])


async def form_data(request: Request) -> dict[str, str]:
    """The urlencoded body as plain strings (read here so the routes can stay sync)."""
    if request.method != "POST":
        return {}
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


Form = Annotated[dict[str, str], Depends(form_data)]


def _http(request: Request, settings: Settings, form: dict[str, str], **extra: Any) -> HttpRequest:
    # authlib sees the URL as the issuer publishes it (TLS ends at the proxy in production).
    url = settings.issuer.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return HttpRequest(
        method=request.method,
        url=url,
        headers=request.headers,
        query=dict(request.query_params),
        form=form,
        **extra,
    )


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


# --- discovery and keys -----------------------------------------------------------------


def discovery_document(settings: Settings) -> dict[str, Any]:
    """The provider metadata (OpenID Connect Discovery 1.0, RFC 8414)."""
    base = settings.issuer.rstrip("/")
    return {
        "issuer": settings.issuer,
        "authorization_endpoint": f"{base}/oidc/authorize",
        "token_endpoint": f"{base}/oidc/token",
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "jwks_uri": f"{base}/oidc/jwks",
        "end_session_endpoint": f"{base}/oidc/logout",
        "revocation_endpoint": f"{base}/oidc/revoke",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "name",
            "preferred_username",
            "locale",
            "zoneinfo",
            "department",
            "user_kind",
            "phone_number",
            "phone_number_verified",
        ],
        "ui_locales_supported": ["zh-CN", "en"],
        "authorization_response_iss_parameter_supported": True,
    }


@router.get("/.well-known/openid-configuration")
@router.get("/.well-known/oauth-authorization-server")
def discovery(runtime: RuntimeDep) -> JSONResponse:
    return JSONResponse(
        discovery_document(runtime.settings), headers={"Cache-Control": "max-age=300"}
    )


@router.get("/oidc/jwks")
def jwks_endpoint(session: DbSession, runtime: RuntimeDep) -> JSONResponse:
    # A new installation publishes its first key before it has signed anything.
    active_signing_key(session, settings=runtime.settings)
    return JSONResponse(jwks(session), headers={"Cache-Control": "max-age=300"})


# --- authorization ----------------------------------------------------------------------


@router.get("/oidc/authorize")
def authorize(request: Request, session: DbSession, runtime: RuntimeDep) -> Response:
    settings = runtime.settings
    sign_in = browser.current_sign_in(session, request)
    http = _http(request, settings, {}, sign_in=sign_in)
    provider = Provider(session, settings)
    locale = page_locale(request, str(request.url))
    user = session.get(User, sign_in.user_id) if sign_in else None
    try:
        grant = provider.get_consent_grant(http, end_user=user)
    except OAuth2Error as error:
        if error.redirect_uri:
            # The client and its redirect URI are verified: tell the client.
            answer: Response = provider.handle_error_response(
                provider.create_oauth2_request(http), error
            )
            return answer
        return render(
            request,
            view="message",
            locale=locale,
            status_code=400,
            message=text(locale, "bad_request"),
        )
    prompt = request.query_params.get("prompt", "")
    if user is None or "login" in prompt.split() or _too_old(sign_in, request):
        if "none" in prompt.split():
            refusal: Response = provider.handle_error_response(
                grant.request, _login_required(grant.request.payload.redirect_uri)
            )
            return refusal
        # Come back here once signed in; prompt=login is honoured once, not forever.
        again = {k: v for k, v in request.query_params.items() if k not in ("prompt", "max_age")}
        return_to = "/oidc/authorize?" + urlencode(again)
        return RedirectResponse(
            "/oidc/login?" + urlencode({"return_to": return_to}), status_code=303
        )
    response: Response = provider.create_authorization_response(http, grant_user=user, grant=grant)
    if response.status_code in (302, 303) and "location" in response.headers:
        location = response.headers["location"]
        joiner = "&" if "?" in location else "?"
        # RFC 9207: the answer names its issuer, so a client talking to several can tell.
        response.headers["location"] = location + joiner + urlencode({"iss": settings.issuer})
    return response


def _bad_request(request: Request, locale: str) -> Response:
    # Never redirect to an unverified address: the error stays on our own page.
    message = text(locale, "bad_request")
    return render(request, view="message", locale=locale, status_code=400, message=message)


def _too_old(sign_in: Any, request: Request) -> bool:
    raw = request.query_params.get("max_age")
    if sign_in is None or raw is None or not raw.isdigit():
        return False
    from cityos.kernel.clock import utcnow

    return bool((utcnow() - sign_in.auth_time).total_seconds() > int(raw))


def _login_required(redirect_uri: str | None) -> OAuth2Error:
    from authlib.oidc.core.errors import LoginRequiredError

    return LoginRequiredError(redirect_uri=redirect_uri)


@router.post("/oidc/token")
def token(request: Request, session: DbSession, runtime: RuntimeDep, form: Form) -> Response:
    provider = Provider(session, runtime.settings)
    response: Response = provider.create_token_response(_http(request, runtime.settings, form))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@router.post("/oidc/revoke")
def revoke(request: Request, session: DbSession, runtime: RuntimeDep, form: Form) -> Response:
    provider = Provider(session, runtime.settings)
    response: Response = provider.create_endpoint_response(
        "revocation", _http(request, runtime.settings, form)
    )
    return response


@router.get("/oidc/userinfo")
@router.post("/oidc/userinfo")
def userinfo(request: Request, session: DbSession, runtime: RuntimeDep) -> JSONResponse:
    refusal = JSONResponse(
        {"error": "invalid_token"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential:
        return refusal
    try:
        claims = verify_token(session, credential.strip(), settings=runtime.settings)
    except Unauthenticated:
        return refusal
    scope = claims.scope or ""
    if "openid" not in scope.split():
        return JSONResponse(
            {"error": "insufficient_scope"},
            status_code=403,
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
        )
    user = session.get(User, claims.subject)
    if user is None or not user.active:
        return refusal
    return JSONResponse(user_claims(session, user, scope), headers={"Cache-Control": "no-store"})


# --- sign out ---------------------------------------------------------------------------


@router.get("/oidc/logout")
@router.post("/oidc/logout")
def logout(request: Request, session: DbSession, runtime: RuntimeDep, form: Form) -> Response:
    settings = runtime.settings
    locale = page_locale(request)
    sign_in = browser.current_sign_in(session, request)
    provider = Provider(session, settings)
    http = _http(request, settings, form, sign_in=sign_in)
    try:
        ending = provider.validate_endpoint_request("end_session", http)
    except OAuth2Error:
        return render(
            request,
            view="message",
            locale=locale,
            status_code=400,
            message=text(locale, "bad_request"),
        )
    # Without proof of which client asks (an ID token), a stray link must not sign anyone
    # out: ask first, and take the answer only from our own form.
    confirmed = request.method == "POST" and browser.csrf_ok(request, form.get("csrf"))
    if ending.needs_confirmation and not confirmed:
        csrf = browser.csrf_token(request)
        hidden = {
            k: v
            for k, v in {**dict(request.query_params), **form}.items()
            if k in ("client_id", "post_logout_redirect_uri", "state", "ui_locales")
        }
        response: Response = render(request, view="logout", locale=locale, csrf=csrf, hidden=hidden)
        browser.set_cookie(response, settings, browser.CSRF_COOKIE, csrf, browser.FLOW_TTL)
        return response
    if sign_in is not None:
        record(
            session,
            actor=str(sign_in.user_id),
            action="auth.sign_out",
            target_type="user",
            target_id=str(sign_in.user_id),
            outcome="success",
            details={"client_id": ending.client.get_client_id() if ending.client else None},
            ip=_client_ip(request),
            request_id=_request_id(request),
        )
    redirect = provider.create_endpoint_response("end_session", ending)
    response = redirect or render(
        request, view="message", locale=locale, message=text(locale, "signed_out")
    )
    browser.clear_cookie(response, settings, browser.SESSION_COOKIE)
    return response


# --- sign-in pages ----------------------------------------------------------------------


def _signed_in(
    session: Session, settings: Settings, *, user: User, amr: list[str], return_to: str
) -> Response:
    """Start the provider session and go back to where the sign-in began."""
    _, value = browser.start_sign_in_session(session, user=user, amr=amr)
    response = RedirectResponse(browser.safe_return_to(return_to), status_code=303)
    browser.set_cookie(response, settings, browser.SESSION_COOKIE, value, browser.SESSION_TTL)
    browser.clear_cookie(response, settings, browser.FLOW_COOKIE)
    return response


def _after_first_factor(
    session: Session, settings: Settings, *, user: User, amr: list[str], return_to: str
) -> Response:
    """Signed in, or on to the second factor when the account has or needs one."""
    if has_totp(session, user) or totp_required(session, settings=settings, user=user):
        stage = "mfa" if has_totp(session, user) else "mfa_setup"
        _, value = browser.start_flow(
            session, stage=stage, user_id=user.id, return_to=return_to, amr=amr
        )
        response = RedirectResponse(f"/oidc/login/{stage.replace('_', '-')}", status_code=303)
        browser.set_cookie(response, settings, browser.FLOW_COOKIE, value, browser.FLOW_TTL)
        return response
    return _signed_in(session, settings, user=user, amr=amr, return_to=return_to)


def _with_csrf(response: Response, settings: Settings, csrf: str) -> Response:
    browser.set_cookie(response, settings, browser.CSRF_COOKIE, csrf, browser.FLOW_TTL)
    return response


def _upstreams(settings: Settings, locale: str, return_to: str) -> list[dict[str, str]]:
    return [
        {
            "name": upstream.name.zh if locale == "zh-CN" else upstream.name.en,
            "href": f"/oidc/federation/{upstream.id}/start?" + urlencode({"return_to": return_to}),
        }
        for upstream in federation.providers(settings)
    ]


@router.get("/oidc/login")
def login_page(request: Request, runtime: RuntimeDep) -> Response:
    return_to = browser.safe_return_to(request.query_params.get("return_to"))
    locale = page_locale(request, return_to)
    csrf = browser.csrf_token(request)
    view = "sms" if request.query_params.get("via") == "sms" else "password"
    response = render(
        request,
        view=view,
        locale=locale,
        csrf=csrf,
        return_to=return_to,
        providers=_upstreams(runtime.settings, locale, return_to),
    )
    return _with_csrf(response, runtime.settings, csrf)


@router.get("/oidc/federation/{provider_id}/start")
def federation_start(
    provider_id: str, request: Request, session: DbSession, runtime: RuntimeDep
) -> Response:
    settings = runtime.settings
    return_to = browser.safe_return_to(request.query_params.get("return_to"))
    locale = page_locale(request, return_to)
    upstream = federation.provider(settings, provider_id)
    if upstream is None:
        return _bad_request(request, locale)
    try:
        url, secret = federation.authorization_url(settings, upstream)
    except (httpx.HTTPError, federation.FederationError, ValueError):
        log.exception("federated sign-in through %s could not start", provider_id)
        message = text(locale, "upstream_failed")
        return render(request, view="message", locale=locale, status_code=502, message=message)
    _, value = browser.start_flow(
        session, stage="federation", return_to=return_to, provider=upstream.id, **secret
    )
    response = RedirectResponse(url, status_code=303)
    browser.set_cookie(response, settings, browser.FLOW_COOKIE, value, browser.FLOW_TTL)
    return response


@router.get("/oidc/federation/{provider_id}/callback")
def federation_callback(
    provider_id: str, request: Request, session: DbSession, runtime: RuntimeDep
) -> Response:
    settings = runtime.settings
    flow = browser.current_flow(session, request, stage="federation")
    locale = page_locale(request, flow.return_to if flow else None)
    upstream = federation.provider(settings, provider_id)
    state = request.query_params.get("state")
    if (
        upstream is None
        or flow is None
        or flow.provider != provider_id
        or not state
        or flow.state != state
        or "error" in request.query_params
    ):
        return _bad_request(request, locale)
    callback = f"{settings.issuer.rstrip('/')}{request.url.path}?{request.url.query}"
    try:
        claims = federation.upstream_claims(settings, upstream, flow=flow, callback_url=callback)
    except (httpx.HTTPError, federation.FederationError, OAuth2Error, ValueError):
        log.exception("federated sign-in through %s failed", provider_id)
        message = text(locale, "upstream_failed")
        return render(request, view="message", locale=locale, status_code=502, message=message)
    user = federation.local_user(session, upstream, claims)
    record(
        session,
        actor=user.username if user else f"federation:{upstream.id}",
        action="auth.sign_in",
        target_type="user",
        target_id=str(user.id) if user else None,
        outcome="success" if user else "denied",
        details={"method": "federation", "provider": upstream.id},
        ip=_client_ip(request),
        request_id=_request_id(request),
    )
    return_to = flow.return_to
    session.delete(flow)
    if user is None:
        message = text(locale, "no_account")
        return render(request, view="message", locale=locale, status_code=403, message=message)
    return _signed_in(session, settings, user=user, amr=["fed"], return_to=return_to)


@router.post("/oidc/login")
def login_password(
    request: Request, session: DbSession, runtime: RuntimeDep, form: Form
) -> Response:
    settings = runtime.settings
    return_to = browser.safe_return_to(form.get("return_to"))
    locale = page_locale(request, return_to)
    csrf = browser.csrf_token(request)
    if not browser.csrf_ok(request, form.get("csrf")):
        page = render(
            request,
            view="password",
            locale=locale,
            status_code=400,
            error="csrf",
            csrf=csrf,
            return_to=return_to,
        )
        return _with_csrf(page, settings, csrf)
    user = authenticate_password(
        session,
        settings=settings,
        username=form.get("username", "").strip(),
        password=form.get("password", ""),
        ip=_client_ip(request),
        request_id=_request_id(request),
    )
    if user is None:
        # One refusal for every cause; the counters and the audit record still commit.
        from cityos.foundation.identity.credentials import REFUSAL_EN, REFUSAL_ZH

        page = render(
            request,
            view="password",
            locale=locale,
            status_code=401,
            error=REFUSAL_ZH if locale == "zh-CN" else REFUSAL_EN,
            csrf=csrf,
            return_to=return_to,
            username=form.get("username", ""),
        )
        return _with_csrf(page, settings, csrf)
    return _after_first_factor(session, settings, user=user, amr=["pwd"], return_to=return_to)


@router.post("/oidc/login/sms")
def login_sms(request: Request, session: DbSession, runtime: RuntimeDep, form: Form) -> Response:
    settings = runtime.settings
    return_to = browser.safe_return_to(form.get("return_to"))
    locale = page_locale(request, return_to)
    csrf = browser.csrf_token(request)
    phone = form.get("phone", "").strip()

    def page(status_code: int = 200, **context: Any) -> Response:
        rendered = render(
            request,
            view="sms",
            locale=locale,
            status_code=status_code,
            csrf=csrf,
            return_to=return_to,
            phone=phone,
            **context,
        )
        return _with_csrf(rendered, settings, csrf)

    if not browser.csrf_ok(request, form.get("csrf")):
        return page(400, error="csrf")
    if form.get("action") != "verify":
        try:
            send_sign_in_code(session, settings=settings, phone=phone)
        except (ValidationFailed, TooManyRequests) as exc:
            return page(exc.status, error=exc.detail, code_sent=isinstance(exc, TooManyRequests))
        return page(code_sent=True, notice=text(locale, "code_sent"))
    user = verify_sign_in_code(
        session,
        settings=settings,
        phone=phone,
        code=form.get("code", "").strip(),
        ip=_client_ip(request),
        request_id=_request_id(request),
    )
    if user is None:
        return page(401, error="bad_code", code_sent=True)
    # A staff account reached by its phone still owes its second factor.
    return _after_first_factor(session, settings, user=user, amr=["sms"], return_to=return_to)


def _flow_user(session: Session, flow: SignInFlow | None) -> User | None:
    if flow is None or flow.user_id is None:
        return None
    user = session.get(User, flow.user_id)
    return user if user is not None and user.active else None


# A second factor may be tried this many times in one sign-in before it starts again.
MFA_ATTEMPTS = 5


@router.get("/oidc/login/mfa")
@router.post("/oidc/login/mfa")
def login_mfa(request: Request, session: DbSession, runtime: RuntimeDep, form: Form) -> Response:
    settings = runtime.settings
    flow = browser.current_flow(session, request, stage="mfa")
    user = _flow_user(session, flow)
    locale = page_locale(request, flow.return_to if flow else None)
    if flow is None or user is None:
        return RedirectResponse("/oidc/login?" + urlencode({"lang": locale}), status_code=303)
    csrf = browser.csrf_token(request)
    if request.method == "GET":
        return _with_csrf(render(request, view="mfa", locale=locale, csrf=csrf), settings, csrf)
    ok = browser.csrf_ok(request, form.get("csrf")) and verify_totp(
        session, settings=settings, user=user, code=form.get("code", "").strip()
    )
    if not ok:
        flow.attempts += 1
        if flow.attempts >= MFA_ATTEMPTS:
            session.delete(flow)
            return RedirectResponse(
                "/oidc/login?" + urlencode({"return_to": flow.return_to}), status_code=303
            )
        page = render(
            request, view="mfa", locale=locale, status_code=401, error="bad_code", csrf=csrf
        )
        return _with_csrf(page, settings, csrf)
    return_to, amr = flow.return_to, [*flow.amr, "otp", "mfa"]
    session.delete(flow)
    return _signed_in(session, settings, user=user, amr=amr, return_to=return_to)


@router.get("/oidc/login/mfa-setup")
@router.post("/oidc/login/mfa-setup")
def login_mfa_setup(
    request: Request, session: DbSession, runtime: RuntimeDep, form: Form
) -> Response:
    settings = runtime.settings
    flow = browser.current_flow(session, request, stage="mfa_setup")
    user = _flow_user(session, flow)
    locale = page_locale(request, flow.return_to if flow else None)
    if flow is None or user is None:
        return RedirectResponse("/oidc/login?" + urlencode({"lang": locale}), status_code=303)
    csrf = browser.csrf_token(request)
    if request.method == "POST" and browser.csrf_ok(request, form.get("csrf")):
        if confirm_totp(session, settings=settings, user=user, code=form.get("code", "").strip()):
            return_to, amr = flow.return_to, [*flow.amr, "otp", "mfa"]
            session.delete(flow)
            return _signed_in(session, settings, user=user, amr=amr, return_to=return_to)
        flow.attempts += 1
    failed = request.method == "POST"
    enrolment = (
        pending_totp_enrolment(session, settings=settings, user=user) if failed else None
    ) or begin_totp_enrolment(session, settings=settings, user=user)
    page = render(
        request,
        view="mfa_setup",
        locale=locale,
        status_code=401 if failed else 200,
        error="bad_code" if failed else None,
        csrf=csrf,
        secret=enrolment.secret,
        qr_svg=enrolment.qr_svg,
    )
    return _with_csrf(page, settings, csrf)


@router.get("/oidc/account/mfa")
@router.post("/oidc/account/mfa")
def account_mfa(request: Request, session: DbSession, runtime: RuntimeDep, form: Form) -> Response:
    """A signed-in person sets up an authenticator of their own accord."""
    settings = runtime.settings
    locale = page_locale(request)
    sign_in = browser.current_sign_in(session, request)
    user = session.get(User, sign_in.user_id) if sign_in else None
    if user is None:
        back = "/oidc/login?" + urlencode({"return_to": "/oidc/account/mfa", "lang": locale})
        return RedirectResponse(back, status_code=303)
    if has_totp(session, user):
        return render(request, view="message", locale=locale, message=text(locale, "mfa_already"))
    csrf = browser.csrf_token(request)
    failed = False
    if request.method == "POST" and browser.csrf_ok(request, form.get("csrf")):
        code = form.get("code", "").strip()
        if confirm_totp(session, settings=settings, user=user, code=code):
            message = text(locale, "mfa_enrolled")
            return render(request, view="message", locale=locale, message=message)
        failed = True
    enrolment = (
        pending_totp_enrolment(session, settings=settings, user=user) if failed else None
    ) or begin_totp_enrolment(session, settings=settings, user=user)
    page = render(
        request,
        view="mfa_setup",
        locale=locale,
        status_code=401 if failed else 200,
        error="bad_code" if failed else None,
        csrf=csrf,
        secret=enrolment.secret,
        qr_svg=enrolment.qr_svg,
        form_action="/oidc/account/mfa",
        intro=text(locale, "mfa_voluntary_intro"),
    )
    return _with_csrf(page, settings, csrf)


__all__ = ["ACCESS_TOKEN_TTL", "discovery_document", "router"]
