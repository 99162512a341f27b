"""The browser's side of signing in: the provider session cookie (single sign-on), the
cookie of a sign-in under way (second factor to come), and the anti-forgery token of the
sign-in forms. Cookies carry random values; the database keeps only their hashes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import SignInFlow, SignInSession, User
from cityos.foundation.identity.oidc.server import token_hash
from cityos.kernel.clock import utcnow
from cityos.settings import Settings

SESSION_COOKIE = "cityos_sso"
FLOW_COOKIE = "cityos_flow"
CSRF_COOKIE = "cityos_csrf"
COOKIE_PATH = "/oidc"
# A working day: staff sign in once in the morning.
SESSION_TTL = timedelta(hours=10)
FLOW_TTL = timedelta(minutes=10)
# Where a sign-in may send the browser afterwards: the provider's own pages only, so the
# form cannot be turned into an open redirect.
RETURN_PATHS = ("/oidc/authorize", "/oidc/account")
DEFAULT_RETURN = "/workbench/"


def safe_return_to(value: str | None) -> str:
    """``value`` if it is one of the provider's own paths, else the workbench."""
    if not value:
        return DEFAULT_RETURN
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(RETURN_PATHS):
        return DEFAULT_RETURN
    if "\\" in value or "\n" in value or "\r" in value:
        return DEFAULT_RETURN
    return value


def _secure(settings: Settings) -> bool:
    return settings.issuer.startswith("https://")


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, ttl: timedelta
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(ttl.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name, path=COOKIE_PATH, httponly=True, samesite="lax", secure=_secure(settings)
    )


def current_sign_in(session: Session, request: Request) -> SignInSession | None:
    """The browser's live provider session, if its cookie names one."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    row = session.scalar(select(SignInSession).where(SignInSession.token_hash == token_hash(value)))
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return row if user is not None and user.active else None


def start_sign_in_session(
    session: Session, *, user: User, amr: Sequence[str]
) -> tuple[SignInSession, str]:
    """A new provider session for ``user`` and the cookie value that names it."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    row = SignInSession(
        token_hash=token_hash(value),
        user_id=user.id,
        auth_time=now,
        amr=list(amr),
        expires_at=now + SESSION_TTL,
    )
    session.add(row)
    session.flush()
    return row, value


def start_flow(
    session: Session,
    *,
    stage: str,
    return_to: str,
    user_id: object | None = None,
    amr: Sequence[str] = (),
    provider: str | None = None,
    state: str | None = None,
    nonce: str | None = None,
    code_verifier: str | None = None,
) -> tuple[SignInFlow, str]:
    """A sign-in under way and the cookie value that names it."""
    value = secrets.token_urlsafe(32)
    row = SignInFlow(
        token_hash=token_hash(value),
        stage=stage,
        user_id=user_id,
        return_to=return_to,
        amr=list(amr),
        provider=provider,
        state=state,
        nonce=nonce,
        code_verifier=code_verifier,
        expires_at=utcnow() + FLOW_TTL,
    )
    session.add(row)
    session.flush()
    return row, value


def current_flow(session: Session, request: Request, *, stage: str) -> SignInFlow | None:
    """The browser's sign-in under way at ``stage``, if any and not expired."""
    value = request.cookies.get(FLOW_COOKIE)
    if not value:
        return None
    row = session.scalar(select(SignInFlow).where(SignInFlow.token_hash == token_hash(value)))
    if row is None or row.stage != stage or row.expires_at <= utcnow():
        return None
    return row


def csrf_token(request: Request) -> str:
    """The form token of this browser (double-submit: cookie and hidden field agree)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and submitted and secrets.compare_digest(cookie, submitted))
