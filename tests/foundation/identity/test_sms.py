"""Signing in by SMS from a citizen's side: a code arrives, signs them in once, makes their
account the first time and finds it again after; wrong, exhausted, expired and superseded
codes are refused, and a number cannot be flooded with codes."""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from cityos.foundation.audit import AuditRecord
from cityos.foundation.identity.models import (
    Role,
    RoleAssignment,
    Scope,
    SmsCode,
    User,
    UserKind,
)
from cityos.foundation.identity.sms import (
    ConsoleSmsGateway,
    SmsGatewayError,
    gateway_for,
    send_sign_in_code,
    verify_sign_in_code,
)
from cityos.foundation.privacy import blind_index
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import TooManyRequests, ValidationFailed
from cityos.kernel.runtime import Runtime
from cityos.settings import Mode, Settings

PHONE = "13812345678"


class Outbox:
    """An SMS gateway that keeps what it is asked to send."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.messages: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str) -> None:
        self.messages.append((phone, text))

    def last_code(self) -> str:
        match = re.search(r"验证码为 (\d{6})，", self.messages[-1][1])
        assert match is not None
        return match.group(1)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


def _send(runtime: Runtime, outbox: Outbox, phone: str = PHONE) -> str:
    with runtime.unit_of_work() as session:
        send_sign_in_code(session, settings=runtime.settings, phone=phone, gateway=outbox)
    return outbox.last_code()


def _sign_in(runtime: Runtime, code: str, phone: str = PHONE) -> uuid.UUID | None:
    with runtime.unit_of_work() as session:
        user = verify_sign_in_code(session, settings=runtime.settings, phone=phone, code=code)
        return user.id if user is not None else None


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _age_codes(runtime: Runtime, by: timedelta) -> None:
    """Move every code sent so far ``by`` into the past."""
    with runtime.unit_of_work() as session:
        for row in session.scalars(select(SmsCode)):
            row.created_at -= by
            row.expires_at -= by


def _sign_in_reasons(runtime: Runtime) -> list[tuple[str, object]]:
    with runtime.unit_of_work() as session:
        entries = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == "auth.sign_in")
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
        )
        return [(e.outcome, e.details.get("reason")) for e in entries]


def test_a_code_signs_in_a_new_citizen(runtime: Runtime, outbox: Outbox) -> None:
    with runtime.unit_of_work() as session:
        session.add(
            Role(code="citizen", name_zh="市民", name_en="Citizen", scope=Scope.OWN, permissions=[])
        )
    code = _send(runtime, outbox, phone="+86 138-1234-5678")

    assert outbox.messages == [
        (PHONE, f"【罗湖区政府】您的登录验证码为 {code}，5分钟内有效。如非本人操作请忽略。")
    ]
    user_id = _sign_in(runtime, code)
    assert user_id is not None
    with runtime.unit_of_work() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert user.kind == UserKind.CITIZEN
        assert re.fullmatch(r"c[0-9a-f]{10}", user.username)
        assert user.display_name == "市民5678"
        assert user.phone == PHONE
        assert user.last_sign_in_at is not None
        roles = session.scalars(
            select(RoleAssignment.role).where(RoleAssignment.user_id == user_id)
        )
        assert list(roles) == ["citizen"]
    assert _sign_in_reasons(runtime) == [("success", None)]


def test_the_second_sign_in_finds_the_same_citizen(runtime: Runtime, outbox: Outbox) -> None:
    first = _sign_in(runtime, _send(runtime, outbox))
    _age_codes(runtime, timedelta(minutes=2))
    second = _sign_in(runtime, _send(runtime, outbox, phone="138 1234 5678"))

    assert first is not None
    assert second == first
    with runtime.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_the_phone_is_stored_encrypted_and_found_by_its_keyed_hash(
    runtime: Runtime, outbox: Outbox
) -> None:
    user_id = _sign_in(runtime, _send(runtime, outbox))
    with runtime.unit_of_work() as session:
        raw = session.scalar(
            select(sa.type_coerce(User.__table__.c.phone, sa.Text())).where(User.id == user_id)
        )
        bidx = session.scalar(select(User.phone_bidx).where(User.id == user_id))
        assert raw is not None
        assert PHONE not in raw
        assert "5678" not in raw
        assert bidx == blind_index("mobile", PHONE)
        assert PHONE not in bidx


def test_the_code_is_kept_only_as_a_hash(runtime: Runtime, outbox: Outbox) -> None:
    code = _send(runtime, outbox)
    with runtime.unit_of_work() as session:
        row = session.scalars(select(SmsCode)).one()
        assert code not in row.code_hash
        assert row.expires_at - row.created_at == timedelta(minutes=5)


def test_a_wrong_code_is_refused_and_the_right_one_still_works(
    runtime: Runtime, outbox: Outbox
) -> None:
    code = _send(runtime, outbox)
    for _ in range(4):
        assert _sign_in(runtime, _wrong(code)) is None
    assert _sign_in(runtime, code) is not None
    assert _sign_in_reasons(runtime) == [("failure", "bad_code")] * 4 + [("success", None)]


def test_five_wrong_codes_kill_the_code(runtime: Runtime, outbox: Outbox) -> None:
    code = _send(runtime, outbox)
    for _ in range(5):
        assert _sign_in(runtime, _wrong(code)) is None
    assert _sign_in(runtime, code) is None
    assert _sign_in_reasons(runtime)[-1] == ("failure", "too_many_attempts")
    with runtime.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_an_expired_code_is_refused(runtime: Runtime, outbox: Outbox) -> None:
    code = _send(runtime, outbox)
    _age_codes(runtime, timedelta(minutes=5, seconds=1))
    assert _sign_in(runtime, code) is None
    assert _sign_in_reasons(runtime) == [("failure", "no_code")]


def test_a_code_signs_in_only_once(runtime: Runtime, outbox: Outbox) -> None:
    code = _send(runtime, outbox)
    assert _sign_in(runtime, code) is not None
    assert _sign_in(runtime, code) is None


def test_a_new_code_retires_the_one_before(runtime: Runtime, outbox: Outbox) -> None:
    old = _send(runtime, outbox)
    _age_codes(runtime, timedelta(minutes=2))
    new = _send(runtime, outbox)
    if old != new:  # one chance in a million that both are the same six digits
        assert _sign_in(runtime, old) is None
    assert _sign_in(runtime, new) is not None


def test_a_code_is_for_its_own_number_only(runtime: Runtime, outbox: Outbox) -> None:
    code = _send(runtime, outbox)
    assert _sign_in(runtime, code, phone="13912345678") is None
    assert _sign_in(runtime, code) is not None


def test_a_number_gets_one_code_a_minute(runtime: Runtime, outbox: Outbox) -> None:
    _send(runtime, outbox)
    with pytest.raises(TooManyRequests) as refused:
        _send(runtime, outbox)
    assert refused.value.status == 429
    assert refused.value.retry_after is not None
    assert 1 <= refused.value.retry_after <= 60
    assert refused.value.headers == {"Retry-After": str(refused.value.retry_after)}
    assert len(outbox.messages) == 1

    _age_codes(runtime, timedelta(seconds=61))
    _send(runtime, outbox)
    assert len(outbox.messages) == 2


def test_a_number_gets_at_most_ten_codes_a_day(runtime: Runtime, outbox: Outbox) -> None:
    for _ in range(10):
        _send(runtime, outbox)
        _age_codes(runtime, timedelta(minutes=2))
    with pytest.raises(TooManyRequests) as refused:
        _send(runtime, outbox)
    # The oldest of the ten was sent 20 minutes ago: the day's allowance frees up after 23:40.
    assert refused.value.retry_after is not None
    assert abs(refused.value.retry_after - (24 * 3600 - 20 * 60)) <= 5
    assert _send(runtime, outbox, phone="13912345678")  # other numbers are not affected

    _age_codes(runtime, timedelta(hours=24))
    _send(runtime, outbox)
    assert len(outbox.messages) == 12


def test_a_bad_number_is_refused_before_anything_is_sent(runtime: Runtime, outbox: Outbox) -> None:
    with pytest.raises(ValidationFailed) as refused, runtime.unit_of_work() as session:
        send_sign_in_code(session, settings=runtime.settings, phone="1234", gateway=outbox)
    assert [(e["field"], e["type"]) for e in refused.value.errors] == [("phone", "mobile")]
    assert outbox.messages == []


def test_an_inactive_citizen_is_refused(runtime: Runtime, outbox: Outbox) -> None:
    user_id = _sign_in(runtime, _send(runtime, outbox))
    with runtime.unit_of_work() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.active = False
    _age_codes(runtime, timedelta(minutes=2))
    assert _sign_in(runtime, _send(runtime, outbox)) is None
    assert _sign_in_reasons(runtime)[-1] == ("failure", "inactive")


def test_the_audit_trail_holds_neither_the_number_nor_the_code(
    runtime: Runtime, outbox: Outbox
) -> None:
    code = _send(runtime, outbox)
    _sign_in(runtime, _wrong(code))
    user_id = _sign_in(runtime, code)
    with runtime.unit_of_work() as session:
        entries = list(
            session.scalars(select(AuditRecord).order_by(AuditRecord.occurred_at, AuditRecord.id))
        )
    assert [(e.action, e.outcome) for e in entries] == [
        ("auth.sms_code_send", "success"),
        ("auth.sign_in", "failure"),
        ("auth.sign_in", "success"),
    ]
    assert entries[-1].target_id == str(user_id)
    for entry in entries:
        written = json.dumps([entry.actor, entry.target_id, entry.details], ensure_ascii=False)
        assert PHONE not in written
        assert code not in written
        assert _wrong(code) not in written


def test_the_console_gateway_shows_the_whole_message_and_logs_the_number_masked(
    settings: Settings, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    gateway = gateway_for(settings)
    assert isinstance(gateway, ConsoleSmsGateway)
    with caplog.at_level(logging.INFO, logger="cityos.sms"):
        gateway.send(phone=PHONE, text="您的登录验证码为 123456")

    assert PHONE in capsys.readouterr().err
    [logged] = [r.getMessage() for r in caplog.records if r.name == "cityos.sms"]
    assert "138****5678" in logged
    assert "123456" in logged
    assert PHONE not in logged


def test_the_gateway_is_chosen_by_the_settings(settings: Settings) -> None:
    own = settings.model_copy(update={"sms_gateway": f"{__name__}:Outbox"})
    assert isinstance(gateway_for(own), Outbox)
    for name in ("carrier", "no.such.module:Gateway", f"{__name__}:NoSuchClass"):
        with pytest.raises(SmsGatewayError, match="CITYOS_SMS_GATEWAY"):
            gateway_for(settings.model_copy(update={"sms_gateway": name}))
    with pytest.raises(SmsGatewayError, match="production"):
        gateway_for(settings.model_copy(update={"mode": Mode.PRODUCTION}))


def test_codes_expire_after_five_minutes_not_before(runtime: Runtime, outbox: Outbox) -> None:
    code = _send(runtime, outbox)
    _age_codes(runtime, timedelta(minutes=4, seconds=50))
    with runtime.unit_of_work() as session:
        row = session.scalars(select(SmsCode)).one()
        assert row.expires_at > utcnow()
    assert _sign_in(runtime, code) is not None
