"""Citizens sign in with their mobile number and a code sent to it by SMS.

A code is six random digits, valid for five minutes, good once, and dead after five wrong
tries; only the newest code sent to a number counts. It is kept as HMAC-SHA256 under a key
derived from the installation secret, bound to the number's keyed hash: a copy of the table
alone cannot be searched for codes. A number gets at most one code a minute and ten in any
24 hours, which caps what a typo (or someone else) can cost in SMS fees and in codes to
guess. Limits per caller address belong to the HTTP layer, which knows the address.

The first successful sign-in of a number makes a citizen account for it: a meaningless
username, a display name of ``市民`` and the last four digits, the number sealed in
``User.phone`` and found again through ``User.phone_bidx``.

Sending goes through an ``SmsGateway`` named by ``CITYOS_SMS_GATEWAY``: ``console``, the
demo gateway that prints each message for the person at the console, or
``package.module:Class``, built with the settings (a carrier's or a cloud SMS API).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import logging
import math
import secrets
import sys
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from cityos.foundation.audit import Outcome, record
from cityos.foundation.identity.models import Role, RoleAssignment, SmsCode, User, UserKind
from cityos.foundation.privacy import blind_index, mask, normalise_mobile
from cityos.kernel.clock import utcnow
from cityos.kernel.db import is_postgresql
from cityos.kernel.errors import TooManyRequests, ValidationFailed
from cityos.settings import Mode, Settings

log = logging.getLogger("cityos.sms")

PURPOSE_SIGN_IN = "sign_in"
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
DAILY_LIMIT = 10
DAY = timedelta(hours=24)
CITIZEN_ROLE = "citizen"
SIGN_IN_TEXT = "【罗湖区政府】您的登录验证码为 {code}，5分钟内有效。如非本人操作请忽略。"
_HASH_INFO = b"cityos sms-code hash v1"


@runtime_checkable
class SmsGateway(Protocol):
    """Sends one text message to one mainland mobile number (11 digits)."""

    def send(self, *, phone: str, text: str) -> None: ...


class ConsoleSmsGateway:
    """The demo gateway: the message goes to the console in full (so that whoever runs the
    demo can read the code) and to the log with the number masked."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    def send(self, *, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", mask("mobile", phone), text)
        print(f"[SMS → {phone}] {text}", file=sys.stderr, flush=True)


class SmsGatewayError(RuntimeError):
    """``CITYOS_SMS_GATEWAY`` names no usable gateway."""


def gateway_for(settings: Settings) -> SmsGateway:
    """The gateway ``settings.sms_gateway`` names."""
    name = settings.sms_gateway.strip()
    if name == "console":
        if settings.mode is Mode.PRODUCTION:
            raise SmsGatewayError(
                "CITYOS_SMS_GATEWAY is 'console', which only prints messages; production "
                "mode needs a real gateway ('package.module:Class')"
            )
        return ConsoleSmsGateway(settings)
    module_name, sep, class_name = name.partition(":")
    if not sep or not module_name or not class_name:
        raise SmsGatewayError(
            f"CITYOS_SMS_GATEWAY={name!r} is neither 'console' nor 'package.module:Class'"
        )
    try:
        factory = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise SmsGatewayError(f"CITYOS_SMS_GATEWAY={name!r} cannot be loaded: {exc}") from exc
    gateway = factory(settings)
    if not isinstance(gateway, SmsGateway):
        raise SmsGatewayError(f"CITYOS_SMS_GATEWAY={name!r} has no send(*, phone, text) method")
    return gateway


def _code_hash(settings: Settings, phone_bidx: str, code: str) -> str:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HASH_INFO).derive(
        settings.secret_key_value().encode()
    )
    return hmac.new(key, f"{phone_bidx}:{code}".encode(), hashlib.sha256).hexdigest()


def _serialise_per_phone(session: Session, phone_bidx: str) -> None:
    # Two requests for the same number must not both pass the rate limit. SQLite already
    # runs one writing transaction at a time; PostgreSQL gets a lock per number, held to
    # the end of the caller's transaction.
    if is_postgresql(session):
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(phone_bidx[:15], 16)}
        )


def _retry_after(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def send_sign_in_code(
    session: Session,
    *,
    settings: Settings,
    phone: str,
    gateway: SmsGateway | None = None,
) -> None:
    """Send a sign-in code to ``phone``.

    Raises ``ValidationFailed`` for a number that is not a mainland mobile number and
    ``TooManyRequests`` (with the seconds to wait) when the number had a code too recently.
    """
    try:
        phone = normalise_mobile(phone)
    except ValueError as exc:
        raise ValidationFailed(
            str(exc), errors=[{"field": "phone", "message": str(exc), "type": "mobile"}]
        ) from exc
    phone_bidx = blind_index("mobile", phone)
    _serialise_per_phone(session, phone_bidx)
    now = utcnow()
    recent = select(SmsCode.created_at).where(
        SmsCode.phone_bidx == phone_bidx,
        SmsCode.purpose == PURPOSE_SIGN_IN,
        SmsCode.created_at > now - DAY,
    )
    last = session.scalars(recent.order_by(SmsCode.created_at.desc()).limit(1)).first()
    if last is not None and last > now - RESEND_AFTER:
        wait = _retry_after(last + RESEND_AFTER, now)
        raise TooManyRequests(
            f"a code was sent to this number less than a minute ago; retry in {wait} s",
            retry_after=wait,
        )
    sent_today = session.scalar(select(func.count()).select_from(recent.subquery())) or 0
    if sent_today >= DAILY_LIMIT:
        oldest = session.scalars(recent.order_by(SmsCode.created_at).limit(1)).one()
        wait = _retry_after(oldest + DAY, now)
        raise TooManyRequests(
            f"this number had {DAILY_LIMIT} codes in the last 24 hours; retry in {wait} s",
            retry_after=wait,
        )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    session.add(
        SmsCode(
            phone_bidx=phone_bidx,
            code_hash=_code_hash(settings, phone_bidx, code),
            purpose=PURPOSE_SIGN_IN,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    session.flush()
    record(
        session,
        actor=None,
        action="auth.sms_code_send",
        target_type="phone",
        target_id=None,
        outcome="success",
        details={"purpose": PURPOSE_SIGN_IN},
    )
    (gateway or gateway_for(settings)).send(phone=phone, text=SIGN_IN_TEXT.format(code=code))


def _new_username(session: Session) -> str:
    while True:
        username = "c" + secrets.token_hex(5)
        if session.scalars(select(User.id).where(User.username == username)).first() is None:
            return username


def _new_citizen(session: Session, *, phone: str, phone_bidx: str) -> User:
    user = User(
        username=_new_username(session),
        display_name="市民" + phone[-4:],
        kind=UserKind.CITIZEN,
        phone=phone,
        phone_bidx=phone_bidx,
    )
    session.add(user)
    session.flush()
    if session.get(Role, CITIZEN_ROLE) is not None:
        session.add(RoleAssignment(user_id=user.id, role=CITIZEN_ROLE))
        session.flush()
    return user


def verify_sign_in_code(
    session: Session,
    *,
    settings: Settings,
    phone: str,
    code: str,
    ip: str | None = None,
    request_id: str | None = None,
) -> User | None:
    """The citizen ``code`` signs in (made on their first sign-in), or None.

    None for a wrong, used, expired or exhausted code and for an inactive account alike;
    the caller commits either way, so that wrong tries count.
    """

    def audit(outcome: Outcome, user: User | None, **details: object) -> None:
        record(
            session,
            actor=user.username if user is not None else None,
            action="auth.sign_in",
            target_type="user",
            target_id=str(user.id) if user is not None else None,
            outcome=outcome,
            details={"method": "sms", **details},
            ip=ip,
            request_id=request_id,
        )

    try:
        phone = normalise_mobile(phone)
    except ValueError:
        audit("failure", None, reason="no_code")
        return None
    phone_bidx = blind_index("mobile", phone)
    now = utcnow()
    # Only the newest code counts: asking for a new one retires the ones before it.
    row = session.scalars(
        select(SmsCode)
        .where(
            SmsCode.phone_bidx == phone_bidx,
            SmsCode.purpose == PURPOSE_SIGN_IN,
            SmsCode.expires_at > now,
        )
        .order_by(SmsCode.created_at.desc(), SmsCode.id.desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None or row.used_at is not None:
        audit("failure", None, reason="no_code")
        return None
    if row.attempts >= MAX_ATTEMPTS:
        audit("failure", None, reason="too_many_attempts")
        return None
    candidate = _code_hash(settings, phone_bidx, code.strip())
    if not hmac.compare_digest(candidate, row.code_hash):
        row.attempts += 1
        session.flush()
        audit("failure", None, reason="bad_code", attempts=row.attempts)
        return None
    row.used_at = now
    user = session.scalars(select(User).where(User.phone_bidx == phone_bidx)).first()
    new_account = user is None
    if user is None:
        user = _new_citizen(session, phone=phone, phone_bidx=phone_bidx)
    if not user.active:
        session.flush()
        audit("failure", user, reason="inactive")
        return None
    user.last_sign_in_at = now
    session.flush()
    audit("success", user, new_account=new_account)
    return user
