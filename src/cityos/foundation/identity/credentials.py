"""Passwords: what a new one must look like, how a sign-in is checked, and the lock that
repeated failures earn.

Policy. At least 10 characters from at least three of lower case, upper case, digits and
symbols; not containing the username; not one of the passwords people pick first (the
Chinese-keyboard favourites ``woaini1314``, ``qwer1234``, ``Aa123456`` among them). Length
does most of the work; the classes and the list only refuse what a guessing attack tries
first. Codes (``too_short``, ``too_few_classes``, ``contains_username``, ``too_common``)
are stable so that the UI can explain each one in the user's language.

Sign-in. ``authenticate_password`` never raises for wrong credentials and never says
which part was wrong: unknown user, wrong password, inactive account and locked account all
look the same to the caller, who shows one refusal (``REFUSAL_ZH`` / ``REFUSAL_EN``). Every
path spends one Argon2 verification (against a fixed dummy hash when there is no user or no
password), so the time taken does not tell whether a username exists. The audit trail, read
only by auditors, does record the reason.

Lock. Five consecutive failures lock the account for 15 minutes; each further five double
the lock, up to 24 hours. The count is of *consecutive* failures and only a successful
sign-in (or ``unlock``) resets it, so an attacker who waits out a lock earns a longer one.
While locked even the right password is refused, and attempts do not count: guessing during
a lock neither helps nor extends it. This bounds online guessing at about 35 guesses in the
first day and 5 a day after that, per account. The user row is locked for the attempt
(``SELECT … FOR UPDATE`` on PostgreSQL) so that parallel guesses cannot overtake the count.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import Outcome, record
from cityos.foundation.identity.models import User
from cityos.foundation.identity.service import _hasher as hasher
from cityos.foundation.identity.service import hash_password
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import ValidationFailed
from cityos.settings import Settings

REFUSAL_ZH = "用户名或密码不正确，或尝试过多已暂时锁定，请稍后再试"
REFUSAL_EN = (
    "The username or password is incorrect, or there were too many attempts and the "
    "account is locked for a while. Please try again later."
)

FAILURES_PER_LOCK = 5
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)

# Lower-cased; compared with the lower-cased password. The top of the leaked-password lists
# (international and Chinese), including the ones that would pass the length and class rules.
COMMON_PASSWORDS = frozenset(
    {
        "123456",
        "12345678",
        "123456789",
        "1234567890",
        "0123456789",
        "111111",
        "11111111",
        "000000",
        "00000000",
        "88888888",
        "66666666",
        "123123123",
        "password",
        "password1",
        "password123",
        "p@ssw0rd",
        "p@ssw0rd123",
        "passw0rd!",
        "iloveyou",
        "iloveyou1",
        "qwerty",
        "qwerty123",
        "qwertyuiop",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "1qaz2wsx",
        "1qaz@wsx",
        "1qaz2wsx3edc",
        "1qaz!qaz",
        "zaq12wsx",
        "qwer1234",
        "qwer1234!",
        "qwe123456",
        "asd123456",
        "asdf1234",
        "zxcvbnm",
        "zxcvbnm123",
        "abc123",
        "abc123456",
        "abc@123456",
        "abcd1234",
        "abcd@1234",
        "a123456",
        "a123456789",
        "a1234567890",
        "aa123456",
        "aa123456!",
        "aa123456.",
        "aa1234567",
        "aa12345678",
        "aa123456789",
        "aa112233",
        "aa123123",
        "aaa111222",
        "123456aa",
        "123456abc",
        "123456789a",
        "qq123456",
        "qq123456789",
        "admin",
        "admin123",
        "admin@123",
        "admin123!",
        "admin@1234",
        "admin12345",
        "administrator",
        "root@123",
        "huawei@123",
        "huawei12#$",
        "woaini",
        "woaini1314",
        "woaini1314!",
        "woaini520",
        "woaini521",
        "woaini123",
        "5201314",
        "520520520",
        "1314520520",
        "13145201314",
        "w123456789",
        "wang123456",
        "zhang123456",
        "li123456789",
        "welcome1",
        "welcome@123",
        "changeme",
        "changeme123",
        "letmein",
        "sunshine",
        "dragon",
        "monkey",
        "football",
        "baseball",
        "shadow",
        "master",
        "superman",
    }
)


@dataclass(frozen=True)
class PasswordPolicy:
    """What a new password must be; ``problems`` names each rule it breaks."""

    min_length: int = 10
    min_classes: int = 3
    common: frozenset[str] = field(default=COMMON_PASSWORDS, repr=False)
    # A username shorter than this would forbid too many ordinary passwords to be useful.
    min_username_check: int = 3

    def problems(self, password: str, *, username: str) -> list[str]:
        """The stable codes of the rules ``password`` breaks (empty when it is acceptable)."""
        found: list[str] = []
        if len(password) < self.min_length:
            found.append("too_short")
        if _classes(password) < self.min_classes:
            found.append("too_few_classes")
        name = username.strip().casefold()
        if len(name) >= self.min_username_check and name in password.casefold():
            found.append("contains_username")
        if password.casefold() in self.common:
            found.append("too_common")
        return found

    def message(self, code: str) -> str:
        """The English explanation of a rule, for the ``message`` of a field error."""
        return {
            "too_short": f"the password must have at least {self.min_length} characters",
            "too_few_classes": (
                f"the password must mix at least {self.min_classes} of lower case, upper case, "
                "digits and symbols"
            ),
            "contains_username": "the password must not contain the username",
            "too_common": "the password is one of the most common passwords",
        }[code]


DEFAULT_POLICY = PasswordPolicy()


def _classes(password: str) -> int:
    lower = any(c.islower() for c in password)
    upper = any(c.isupper() for c in password)
    digit = any(c in string.digits for c in password)
    symbol = any(not (c.islower() or c.isupper() or c in string.digits) for c in password)
    return lower + upper + digit + symbol


@cache
def _dummy_hash() -> str:
    # Verified against when there is no hash to verify, so that every refusal costs the same.
    return hash_password("no account has this password, it only spends time")


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def set_password(
    session: Session,
    *,
    user: User,
    password: str,
    actor: str,
    settings: Settings,
    policy: PasswordPolicy = DEFAULT_POLICY,
) -> None:
    """Give ``user`` a new password that satisfies ``policy``; clears any sign-in lock."""
    problems = policy.problems(password, username=user.username)
    if problems:
        errors = [
            {"field": "password", "message": policy.message(code), "type": code}
            for code in problems
        ]
        raise ValidationFailed(
            "the password does not meet the password policy: "
            + "; ".join(e["message"] for e in errors),
            errors=errors,
        )
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_sign_ins = 0
    user.locked_until = None
    session.flush()
    record(
        session,
        actor=actor,
        action="auth.password_set",
        target_type="user",
        target_id=str(user.id),
        outcome="success",
        details={},
    )


def lock_duration(failures: int) -> timedelta | None:
    """How long ``failures`` consecutive failures lock an account for (None: no new lock)."""
    if failures <= 0 or failures % FAILURES_PER_LOCK:
        return None
    doublings = failures // FAILURES_PER_LOCK - 1
    # Capped before it is computed: 2**n grows past any timedelta long before n is large.
    if doublings >= 16:
        return LONGEST_LOCK
    return min(FIRST_LOCK * (1 << doublings), LONGEST_LOCK)


def authenticate_password(
    session: Session,
    *,
    settings: Settings,
    username: str,
    password: str,
    ip: str | None = None,
    request_id: str | None = None,
) -> User | None:
    """The user these credentials sign in, or None; the caller commits either way.

    None for an unknown, inactive or password-less user, a wrong password and a locked
    account alike, so the caller shows one refusal. Counters and the audit record are
    written in the session; they only count once the caller commits.
    """
    user = session.scalars(
        select(User)
        .where(User.username == username)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    now = utcnow()

    def audit(outcome: Outcome, reason: str | None, **extra: object) -> None:
        details: dict[str, object] = {"method": "password", **extra}
        if reason is not None:
            details["reason"] = reason
        record(
            session,
            actor=user.username if user is not None else None,
            action="auth.sign_in",
            target_type="user",
            target_id=str(user.id) if user is not None else None,
            outcome=outcome,
            details=details,
            ip=ip,
            request_id=request_id,
        )

    # The verification runs first on every path: the time taken must not depend on which
    # refusal this is.
    correct = _verify(user.password_hash if user is not None else None, password)
    if user is None:
        audit("failure", "unknown_user")
        return None
    if not user.active:
        audit("failure", "inactive")
        return None
    if user.locked_until is not None and user.locked_until > now:
        audit("denied", "locked")
        return None
    if user.password_hash is None:
        audit("failure", "no_password")
        return None
    if not correct:
        user.failed_sign_ins += 1
        lock = lock_duration(user.failed_sign_ins)
        if lock is None:
            audit("failure", "bad_password", failures=user.failed_sign_ins)
        else:
            user.locked_until = now + lock
            audit(
                "failure",
                "bad_password",
                failures=user.failed_sign_ins,
                locked_minutes=int(lock.total_seconds() // 60),
            )
        session.flush()
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_sign_ins = 0
    user.locked_until = None
    user.last_sign_in_at = now
    session.flush()
    audit("success", None)
    return user


def unlock(session: Session, *, user: User, actor: str) -> None:
    """Lift ``user``'s sign-in lock and start the failure count afresh."""
    was_locked = user.locked_until is not None and user.locked_until > utcnow()
    user.locked_until = None
    user.failed_sign_ins = 0
    session.flush()
    record(
        session,
        actor=actor,
        action="auth.unlock",
        target_type="user",
        target_id=str(user.id),
        outcome="success",
        details={"was_locked": was_locked},
    )
