"""API keys for devices and systems: sent in ``X-API-Key`` (or ``api_key`` where a standard
such as Open311 says so), acting for their owner within the key's scopes.

A key reads ``ck_<prefix>_<secret>``: ``prefix`` (8 hex characters) finds the row and is what
people see; ``secret`` is 32 random bytes. Only HMAC-SHA256 of the whole key is stored, keyed
by a key derived from the installation secret. A slow password hash (argon2id) buys nothing
here: it exists to make guessing low-entropy passwords expensive, and 256 random bits cannot
be guessed however fast the hash. A fast hash keeps every request cheap, and the HMAC key
means a stolen table alone does not let anyone test candidate keys offline. Changing
``CITYOS_SECRET_KEY`` therefore invalidates every API key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.identity.models import ApiKey, User
from cityos.foundation.identity.permissions import PATTERN
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import NotFound, Unauthenticated, ValidationFailed
from cityos.settings import Settings

KEY_PREFIX = "ck_"
PREFIX_LENGTH = 8
MAX_LIFETIME = timedelta(days=3650)
# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_HASH_INFO = b"cityos api-key hash v1"


@dataclass(frozen=True)
class IssuedKey:
    """A new key: the row as stored and the key itself, shown once and never again."""

    row: ApiKey
    key: str


def _hash(settings: Settings, key: str) -> str:
    hmac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HASH_INFO).derive(
        settings.secret_key_value().encode()
    )
    return hmac.new(hmac_key, key.encode(), hashlib.sha256).hexdigest()


def _split(key: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    if not key.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = key[len(KEY_PREFIX) :].partition("_")
    if len(prefix) != PREFIX_LENGTH or not sep or not secret:
        return None
    return prefix


def _new_prefix(session: Session) -> str:
    while True:
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        if session.scalars(select(ApiKey.id).where(ApiKey.prefix == prefix)).first() is None:
            return prefix


def _status(row: ApiKey, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    return "active"


def create_api_key(
    session: Session,
    *,
    settings: Settings,
    owner: User,
    scopes: Sequence[str],
    name: str = "",
    lifetime: timedelta = timedelta(days=365),
    actor: str | None,
) -> IssuedKey:
    """A new key acting for ``owner`` within ``scopes`` (permission patterns), audited."""
    if not owner.active:
        raise ValidationFailed(f"user {owner.username} is not active")
    if not scopes:
        raise ValidationFailed(
            "an API key needs at least one scope",
            errors=[{"field": "scopes", "message": "empty", "type": "missing"}],
        )
    bad = [scope for scope in scopes if not PATTERN.match(scope)]
    if bad:
        raise ValidationFailed(
            f"not a permission pattern: {', '.join(bad)}",
            errors=[{"field": "scopes", "message": "not a permission pattern", "type": "pattern"}],
        )
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValidationFailed(
            f"an API key lives between 1 day and {MAX_LIFETIME.days} days",
            errors=[{"field": "lifetime", "message": "out of range", "type": "range"}],
        )
    prefix = _new_prefix(session)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    now = utcnow()
    row = ApiKey(
        prefix=prefix,
        hash=_hash(settings, key),
        user_id=owner.id,
        name=name,
        scopes=list(scopes),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="apikey.create",
        target_type="api_key",
        target_id=str(row.id),
        outcome="success",
        details={"prefix": prefix, "scopes": list(scopes), "owner": str(owner.id)},
    )
    return IssuedKey(row=row, key=key)


def verify_api_key(session: Session, key: str, *, settings: Settings) -> ApiKey:
    """The row of a key that is well formed, known, unrevoked and unexpired.

    Every fault is the same refusal, so a caller cannot tell a revoked key from a made-up one.
    """
    refusal = Unauthenticated("the API key is not valid")
    prefix = _split(key)
    if prefix is None:
        raise refusal
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None or not hmac.compare_digest(row.hash, _hash(settings, key)):
        raise refusal
    now = utcnow()
    if _status(row, now) != "active" or not row.scopes:
        raise refusal
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row


def revoke_api_key(session: Session, *, prefix: str, actor: str | None) -> ApiKey:
    """Refuse the key from now on (revoking twice changes nothing), audited."""
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        raise NotFound(f"no API key {prefix!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        record(
            session,
            actor=actor,
            action="apikey.revoke",
            target_type="api_key",
            target_id=str(row.id),
            outcome="success",
            details={"prefix": row.prefix, "scopes": list(row.scopes)},
        )
    return row


@dataclass(frozen=True)
class ApiKeyListing:
    """What an operator sees of a key: never the key."""

    prefix: str
    owner: str
    name: str
    scopes: tuple[str, ...]
    expires_at: datetime
    last_used_at: datetime | None
    status: str


def list_api_keys(session: Session, *, owner: User | None = None) -> list[ApiKeyListing]:
    """Every key (or ``owner``'s), newest first."""
    stmt = select(ApiKey, User.username).join(User, User.id == ApiKey.user_id)
    if owner is not None:
        stmt = stmt.where(ApiKey.user_id == owner.id)
    now = utcnow()
    return [
        ApiKeyListing(
            prefix=row.prefix,
            owner=username,
            name=row.name,
            scopes=tuple(str(scope) for scope in row.scopes),
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            status=_status(row, now),
        )
        for row, username in session.execute(stmt.order_by(ApiKey.created_at.desc())).all()
    ]
