"""Passwords from a user's side: which new passwords are refused and why, one refusal for
every wrong sign-in, the lock that five failures earn, and the audit trail of it all."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import AuditRecord
from cityos.foundation.identity.credentials import (
    PasswordPolicy,
    authenticate_password,
    set_password,
    unlock,
)
from cityos.foundation.identity.models import User
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import ValidationFailed
from cityos.settings import Settings

from .conftest import MakeUser

GOOD = "Lh-river-Bank7"
WRONG = "Lh-river-Bank8"


@pytest.fixture
def zhang(session: Session, settings: Settings, make_user: MakeUser) -> User:
    """A staff member with the password ``GOOD``."""
    user = make_user("zhangwei")
    set_password(session, user=user, password=GOOD, actor="admin", settings=settings)
    return user


def _sign_in(
    session: Session, settings: Settings, password: str, username: str = "zhangwei"
) -> User | None:
    return authenticate_password(session, settings=settings, username=username, password=password)


def _sign_ins(session: Session) -> list[AuditRecord]:
    return list(
        session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == "auth.sign_in")
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
        )
    )


def _fail(session: Session, settings: Settings, times: int) -> None:
    for _ in range(times):
        assert _sign_in(session, settings, WRONG) is None


@pytest.mark.parametrize(
    ("password", "username", "problems"),
    [
        ("Lh-river-Bank7", "zhangwei", []),
        ("Bank7-rv!", "zhangwei", ["too_short"]),
        ("riverbankwalk", "zhangwei", ["too_few_classes"]),
        ("riverbank-walk-7", "zhangwei", []),
        ("ZhangWei-2024!", "zhangwei", ["contains_username"]),
        ("Olive-Tree-42", "li", []),  # a two-letter username would forbid too much
        ("woaini1314", "zhangwei", ["too_few_classes", "too_common"]),
        ("Aa123456789", "zhangwei", ["too_common"]),
        ("Qwer1234!", "zhangwei", ["too_short", "too_common"]),
        ("1QAZ2wsx3edc", "zhangwei", ["too_common"]),
    ],
)
def test_the_policy_names_each_rule_a_password_breaks(
    password: str, username: str, problems: list[str], settings: Settings
) -> None:
    assert PasswordPolicy().problems(password, username=username) == problems


def test_a_weak_password_is_refused_with_one_field_error_per_rule(
    session: Session, settings: Settings, make_user: MakeUser
) -> None:
    user = make_user("zhangwei")
    with pytest.raises(ValidationFailed) as refused:
        set_password(session, user=user, password="zhangwei1", actor="admin", settings=settings)
    errors = refused.value.errors
    assert [e["type"] for e in errors] == ["too_short", "too_few_classes", "contains_username"]
    assert all(e["field"] == "password" for e in errors)
    assert "10 characters" in errors[0]["message"]
    assert user.password_hash is None
    assert not session.scalars(select(AuditRecord)).all()


def test_a_new_password_is_hashed_clears_the_lock_and_is_audited(
    session: Session, settings: Settings, make_user: MakeUser
) -> None:
    user = make_user("zhangwei")
    user.failed_sign_ins = 7
    user.locked_until = utcnow() + timedelta(hours=1)
    set_password(session, user=user, password=GOOD, actor="admin", settings=settings)

    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD not in user.password_hash
    assert user.password_changed_at is not None
    assert (user.failed_sign_ins, user.locked_until) == (0, None)
    entry = session.scalars(select(AuditRecord)).one()
    assert (entry.action, entry.actor, entry.target_id) == (
        "auth.password_set",
        "admin",
        str(user.id),
    )
    assert GOOD not in json.dumps(entry.details)
    assert _sign_in(session, settings, GOOD) is user


def test_the_right_password_signs_in_and_is_audited(
    session: Session, settings: Settings, zhang: User
) -> None:
    assert (
        authenticate_password(
            session, settings=settings, username="zhangwei", password=GOOD, ip="10.0.0.8"
        )
        is zhang
    )
    assert zhang.last_sign_in_at is not None
    [entry] = _sign_ins(session)
    assert (entry.outcome, entry.target_id, entry.ip) == ("success", str(zhang.id), "10.0.0.8")
    assert entry.details == {"method": "password"}


def test_an_unknown_user_and_a_wrong_password_are_refused_alike(
    session: Session, settings: Settings, zhang: User
) -> None:
    unknown = _sign_in(session, settings, GOOD, username="wangfang")
    wrong = _sign_in(session, settings, WRONG)
    assert unknown is None
    assert wrong is None

    first, second = _sign_ins(session)
    assert (first.outcome, first.actor, first.target_id) == ("failure", None, None)
    assert first.details == {"method": "password", "reason": "unknown_user"}
    assert "wangfang" not in json.dumps(first.details)
    assert (second.outcome, second.target_id) == ("failure", str(zhang.id))
    assert second.details["reason"] == "bad_password"
    for entry in (first, second):
        assert GOOD not in json.dumps(entry.details)
        assert WRONG not in json.dumps(entry.details)


def test_inactive_and_password_less_accounts_are_refused(
    session: Session, settings: Settings, zhang: User, make_user: MakeUser
) -> None:
    make_user("citizen1")
    zhang.active = False
    assert _sign_in(session, settings, GOOD) is None
    assert _sign_in(session, settings, GOOD, username="citizen1") is None
    assert [e.details["reason"] for e in _sign_ins(session)] == ["inactive", "no_password"]


def test_five_failures_lock_the_account_even_against_the_right_password(
    session: Session, settings: Settings, zhang: User
) -> None:
    _fail(session, settings, 4)
    assert zhang.locked_until is None
    _fail(session, settings, 1)
    assert zhang.locked_until is not None
    assert timedelta(minutes=14) < zhang.locked_until - utcnow() <= timedelta(minutes=15)

    assert _sign_in(session, settings, GOOD) is None
    locked = _sign_ins(session)[-1]
    assert (locked.outcome, locked.details["reason"]) == ("denied", "locked")
    assert _sign_ins(session)[-2].details["locked_minutes"] == 15


def test_guesses_during_a_lock_neither_count_nor_extend_it(
    session: Session, settings: Settings, zhang: User
) -> None:
    _fail(session, settings, 5)
    until = zhang.locked_until
    _fail(session, settings, 7)
    assert zhang.failed_sign_ins == 5
    assert zhang.locked_until == until
    assert [e.outcome for e in _sign_ins(session)[5:]] == ["denied"] * 7


def test_a_success_before_the_fifth_failure_starts_the_count_again(
    session: Session, settings: Settings, zhang: User
) -> None:
    _fail(session, settings, 4)
    assert _sign_in(session, settings, GOOD) is zhang
    assert zhang.failed_sign_ins == 0
    _fail(session, settings, 4)
    assert _sign_in(session, settings, GOOD) is zhang


def test_the_lock_lifts_once_its_time_has_passed(
    session: Session, settings: Settings, zhang: User
) -> None:
    _fail(session, settings, 5)
    zhang.locked_until = utcnow() - timedelta(seconds=1)
    session.flush()
    assert _sign_in(session, settings, GOOD) is zhang
    assert (zhang.failed_sign_ins, zhang.locked_until) == (0, None)


def test_each_further_lock_doubles_up_to_a_day(
    session: Session, settings: Settings, zhang: User
) -> None:
    def lock_minutes() -> int:
        assert zhang.locked_until is not None
        minutes = round((zhang.locked_until - utcnow()).total_seconds() / 60)
        zhang.locked_until = utcnow() - timedelta(seconds=1)  # the lock has passed
        session.flush()
        return minutes

    played = []
    for _ in range(3):
        _fail(session, settings, 5)
        played.append(lock_minutes())
    assert played == [15, 30, 60]

    # Later locks, without spending four more guesses on each: the count as it would stand.
    skipped = []
    for failures in (20, 25, 30, 35, 40, 100):
        zhang.failed_sign_ins = failures - 1
        _fail(session, settings, 1)
        skipped.append(lock_minutes())
    assert skipped == [120, 240, 480, 960, 1440, 1440]


def test_an_administrator_can_unlock_an_account(
    session: Session, settings: Settings, zhang: User
) -> None:
    _fail(session, settings, 5)
    unlock(session, user=zhang, actor="admin")
    assert _sign_in(session, settings, GOOD) is zhang
    entry = session.scalars(select(AuditRecord).where(AuditRecord.action == "auth.unlock")).one()
    assert (entry.actor, entry.target_id, entry.details) == (
        "admin",
        str(zhang.id),
        {"was_locked": True},
    )


def test_a_hash_with_outdated_parameters_is_replaced_at_sign_in(
    session: Session, settings: Settings, zhang: User
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(GOOD)
    zhang.password_hash = weak
    session.flush()
    assert _sign_in(session, settings, GOOD) is zhang
    assert zhang.password_hash != weak
    assert not PasswordHasher().check_needs_rehash(zhang.password_hash)
    assert _sign_in(session, settings, GOOD) is zhang
