"""Authenticator apps from a user's side: enrol by QR code, confirm with a first code, then
each fresh code is accepted once; wrong and replayed codes are refused."""

from __future__ import annotations

import json
import time
from urllib.parse import unquote

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import AuditRecord
from cityos.foundation.identity.mfa import (
    begin_totp_enrolment,
    confirm_totp,
    has_totp,
    reset_totp,
    totp_required,
    verify_totp,
)
from cityos.foundation.identity.models import Role, Scope, TotpCredential, User
from cityos.kernel.errors import Conflict
from cityos.settings import Mode, Settings

from .conftest import Assign, MakeUser


@pytest.fixture
def li(make_user: MakeUser) -> User:
    return make_user("lina", Assign("duty_officer", Scope.DISTRICT, ["case.*"]))


def _enrolled(session: Session, settings: Settings, user: User) -> pyotp.TOTP:
    """``user`` with a confirmed authenticator, and that authenticator."""
    app = pyotp.TOTP(begin_totp_enrolment(session, settings=settings, user=user).secret)
    assert confirm_totp(session, settings=settings, user=user, code=app.now())
    return app


def _wrong_code(app: pyotp.TOTP) -> str:
    """Six digits that are none of the codes ``app`` shows around now."""
    now = time.time()
    window = {app.at(now, counter_offset=offset) for offset in (-1, 0, 1)}
    return next(code for code in ("123456", "654321", "000000") if code not in window)


def _audited(session: Session, action: str) -> list[AuditRecord]:
    return list(
        session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == action)
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
        )
    )


def test_enrolment_gives_a_uri_and_qr_code_and_seals_the_secret(
    session: Session, settings: Settings, li: User
) -> None:
    enrolment = begin_totp_enrolment(session, settings=settings, user=li)

    assert len(enrolment.secret) == 32
    assert enrolment.uri.startswith("otpauth://totp/")
    assert "issuer=CityOS 罗湖" in unquote(enrolment.uri)
    assert "lina" in enrolment.uri
    assert pyotp.parse_uri(enrolment.uri).secret == enrolment.secret
    assert enrolment.qr_svg.startswith("<svg")
    assert enrolment.qr_svg.rstrip().endswith("</svg>")
    stored = session.get(TotpCredential, li.id)
    assert stored is not None
    assert enrolment.secret not in stored.secret
    # Not usable until a first code confirms it.
    assert not has_totp(session, li)
    assert not verify_totp(
        session, settings=settings, user=li, code=pyotp.TOTP(enrolment.secret).now()
    )


def test_a_first_code_confirms_the_authenticator(
    session: Session, settings: Settings, li: User
) -> None:
    enrolment = begin_totp_enrolment(session, settings=settings, user=li)
    app = pyotp.TOTP(enrolment.secret)

    assert not confirm_totp(session, settings=settings, user=li, code=_wrong_code(app))
    assert not has_totp(session, li)
    assert confirm_totp(session, settings=settings, user=li, code=app.now())
    assert has_totp(session, li)

    failed, confirmed = _audited(session, "auth.mfa_enrol")
    assert (failed.outcome, failed.details["reason"]) == ("failure", "bad_code")
    assert (confirmed.outcome, confirmed.target_id) == ("success", str(li.id))
    assert enrolment.secret not in json.dumps(confirmed.details)


def test_a_scan_that_went_wrong_can_start_again_but_a_confirmed_one_cannot(
    session: Session, settings: Settings, li: User
) -> None:
    first = begin_totp_enrolment(session, settings=settings, user=li)
    second = begin_totp_enrolment(session, settings=settings, user=li)
    assert first.secret != second.secret
    assert not confirm_totp(
        session, settings=settings, user=li, code=pyotp.TOTP(first.secret).now()
    )
    assert confirm_totp(session, settings=settings, user=li, code=pyotp.TOTP(second.secret).now())

    with pytest.raises(Conflict):
        begin_totp_enrolment(session, settings=settings, user=li)


def test_each_fresh_code_is_accepted_once(session: Session, settings: Settings, li: User) -> None:
    now = time.time()
    app = pyotp.TOTP(begin_totp_enrolment(session, settings=settings, user=li).secret)
    confirmed_code = app.at(now)
    next_code = app.at(now, counter_offset=1)
    assert confirm_totp(session, settings=settings, user=li, code=confirmed_code)

    # The code that confirmed the app, and codes of its step or before, are spent.
    assert not verify_totp(session, settings=settings, user=li, code=confirmed_code)
    assert verify_totp(session, settings=settings, user=li, code=next_code)
    assert not verify_totp(session, settings=settings, user=li, code=next_code)

    reasons = [(e.outcome, e.details.get("reason")) for e in _audited(session, "auth.mfa_verify")]
    assert reasons == [("failure", "replay"), ("success", None), ("failure", "replay")]


def test_a_wrong_or_distant_code_is_refused(session: Session, settings: Settings, li: User) -> None:
    app = _enrolled(session, settings, li)
    distant = app.at(time.time(), counter_offset=5)

    assert not verify_totp(session, settings=settings, user=li, code=_wrong_code(app))
    assert not verify_totp(session, settings=settings, user=li, code=distant)
    assert not verify_totp(session, settings=settings, user=li, code="12ab56")
    assert {e.details["reason"] for e in _audited(session, "auth.mfa_verify")} == {"bad_code"}


def test_a_user_without_an_authenticator_cannot_verify(
    session: Session, settings: Settings, li: User
) -> None:
    assert not verify_totp(session, settings=settings, user=li, code="123456")
    [entry] = _audited(session, "auth.mfa_verify")
    assert (entry.outcome, entry.details["reason"]) == ("failure", "not_enrolled")


def test_a_reset_removes_the_authenticator_so_that_the_user_can_enrol_again(
    session: Session, settings: Settings, li: User
) -> None:
    app = _enrolled(session, settings, li)
    reset_totp(session, user=li, actor="admin")

    assert not has_totp(session, li)
    assert not verify_totp(session, settings=settings, user=li, code=app.now())
    [entry] = _audited(session, "auth.mfa_reset")
    assert (entry.actor, entry.target_id) == ("admin", str(li.id))
    _enrolled(session, settings, li)
    assert has_totp(session, li)


def test_a_second_factor_is_required_in_production_for_roles_that_ask_for_it(
    session: Session, settings: Settings, li: User, make_user: MakeUser
) -> None:
    production = settings.model_copy(update={"mode": Mode.PRODUCTION})
    clerk = make_user("clerk", Assign("clerk", Scope.OWN, ["case.read"]))
    role = session.get(Role, "duty_officer")
    assert role is not None
    role.mfa_required = True
    session.flush()

    assert totp_required(session, settings=production, user=li)
    assert not totp_required(session, settings=production, user=clerk)
    assert not totp_required(session, settings=settings, user=li)
