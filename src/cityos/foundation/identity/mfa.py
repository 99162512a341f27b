"""Second factor: TOTP authenticators (RFC 6238), as in any authenticator app.

Enrolment makes a random secret, seals it under the installation secret (``sealing``,
bound to ``totp:<user id>``) and shows it as an ``otpauth://`` URI and a QR code; the
credential counts only once a first code from the app has been confirmed, so a scan that
went wrong never locks anybody out. A code is accepted one 30-second step either side of
now (clocks on phones drift), and never twice: ``last_step`` remembers the newest step
used, and a code from that step or an older one is refused as a replay. The credential row
is locked while a code is checked, so two requests cannot both spend the same code.

Which users must use a second factor is the profile's choice (``mfa_required`` on a role),
enforced in production mode only so that demo accounts stay one click away.
"""

from __future__ import annotations

import hmac
import io
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import Outcome, record
from cityos.foundation.identity.models import Role, RoleAssignment, TotpCredential, User
from cityos.foundation.identity.sealing import seal, unseal
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import Conflict
from cityos.settings import Mode, Settings

ISSUER = "CityOS 罗湖"
# Steps either side of now that still verify: one covers a phone clock 30 s off.
VALID_WINDOW = 1


@dataclass(frozen=True)
class TotpEnrolment:
    """What the user needs to add the authenticator: the secret (to type in), the
    ``otpauth://`` URI and the same URI as an SVG QR code."""

    secret: str
    uri: str
    qr_svg: str


def _context(user: User) -> str:
    return f"totp:{user.id}"


def _credential(session: Session, user: User) -> TotpCredential | None:
    return session.scalars(
        select(TotpCredential)
        .where(TotpCredential.user_id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _qr_svg(uri: str) -> str:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", xmldecl=False, nl=False, scale=4)
    return buffer.getvalue().decode()


def _matching_step(totp: pyotp.TOTP, code: str, now: datetime) -> int | None:
    """The time step whose code is ``code`` within the window, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != totp.digits or not code.isascii() or not code.isdigit():
        return None
    current = totp.timecode(now)
    matched: int | None = None
    # Every step in the window is compared, so the time taken does not say which matched.
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched


def _audit(
    session: Session, *, user: User, action: str, outcome: Outcome, details: dict[str, object]
) -> None:
    record(
        session,
        actor=user.username,
        action=action,
        target_type="user",
        target_id=str(user.id),
        outcome=outcome,
        details={"method": "totp", **details},
    )


def begin_totp_enrolment(session: Session, *, settings: Settings, user: User) -> TotpEnrolment:
    """A new authenticator secret for ``user``, replacing one not yet confirmed.

    Raises ``Conflict`` when ``user`` already has a confirmed authenticator: replacing it
    takes ``reset_totp`` by an administrator, not just a signed-in session.
    """
    credential = _credential(session, user)
    if credential is not None and credential.confirmed_at is not None:
        raise Conflict(
            "this account already has a confirmed authenticator; it must be reset first",
            code="totp_already_enrolled",
        )
    secret = pyotp.random_base32()
    sealed = seal(settings, context=_context(user), data=secret.encode())
    if credential is None:
        session.add(TotpCredential(user_id=user.id, secret=sealed))
    else:
        credential.secret = sealed
        credential.created_at = utcnow()
        credential.last_step = None
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return TotpEnrolment(secret=secret, uri=uri, qr_svg=_qr_svg(uri))


def pending_totp_enrolment(
    session: Session, *, settings: Settings, user: User
) -> TotpEnrolment | None:
    """The enrolment ``user`` has begun and not confirmed (shown again after a wrong code,
    so the authenticator already scanned stays the right one)."""
    credential = _credential(session, user)
    if credential is None or credential.confirmed_at is not None:
        return None
    secret = unseal(settings, context=_context(user), stored=credential.secret).decode()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return TotpEnrolment(secret=secret, uri=uri, qr_svg=_qr_svg(uri))


def _totp(settings: Settings, user: User, credential: TotpCredential) -> pyotp.TOTP:
    secret = unseal(settings, context=_context(user), stored=credential.secret)
    return pyotp.TOTP(secret.decode())


def confirm_totp(session: Session, *, settings: Settings, user: User, code: str) -> bool:
    """Confirm ``user``'s pending authenticator with a first code from it."""
    credential = _credential(session, user)
    if credential is None or credential.confirmed_at is not None:
        _audit(
            session,
            user=user,
            action="auth.mfa_enrol",
            outcome="failure",
            details={"reason": "no_pending_enrolment"},
        )
        return False
    now = utcnow()
    step = _matching_step(_totp(settings, user, credential), code, now)
    if step is None:
        _audit(
            session,
            user=user,
            action="auth.mfa_enrol",
            outcome="failure",
            details={"reason": "bad_code"},
        )
        return False
    credential.confirmed_at = now
    credential.last_step = step
    session.flush()
    _audit(session, user=user, action="auth.mfa_enrol", outcome="success", details={})
    return True


def verify_totp(session: Session, *, settings: Settings, user: User, code: str) -> bool:
    """Whether ``code`` is a fresh code of ``user``'s confirmed authenticator."""
    credential = _credential(session, user)
    reason: str | None = None
    if credential is None or credential.confirmed_at is None:
        reason = "not_enrolled"
    else:
        step = _matching_step(_totp(settings, user, credential), code, utcnow())
        if step is None:
            reason = "bad_code"
        elif credential.last_step is not None and step <= credential.last_step:
            reason = "replay"
        else:
            credential.last_step = step
            session.flush()
    if reason is not None:
        _audit(
            session,
            user=user,
            action="auth.mfa_verify",
            outcome="failure",
            details={"reason": reason},
        )
        return False
    _audit(session, user=user, action="auth.mfa_verify", outcome="success", details={})
    return True


def has_totp(session: Session, user: User) -> bool:
    """Whether ``user`` has a confirmed authenticator."""
    return (
        session.scalars(
            select(TotpCredential.user_id).where(
                TotpCredential.user_id == user.id, TotpCredential.confirmed_at.is_not(None)
            )
        ).first()
        is not None
    )


def totp_required(session: Session, *, settings: Settings, user: User) -> bool:
    """Whether ``user`` must pass a second factor: in production, when a role asks for it."""
    if settings.mode is not Mode.PRODUCTION:
        return False
    return (
        session.scalars(
            select(RoleAssignment.id)
            .join(Role, Role.code == RoleAssignment.role)
            .where(RoleAssignment.user_id == user.id, Role.mfa_required.is_(True))
            .limit(1)
        ).first()
        is not None
    )


def reset_totp(session: Session, *, user: User, actor: str) -> None:
    """Remove ``user``'s authenticator (lost phone), so that they can enrol again."""
    credential = _credential(session, user)
    if credential is not None:
        session.delete(credential)
        session.flush()
    record(
        session,
        actor=actor,
        action="auth.mfa_reset",
        target_type="user",
        target_id=str(user.id),
        outcome="success",
        details={"method": "totp", "had_credential": credential is not None},
    )
