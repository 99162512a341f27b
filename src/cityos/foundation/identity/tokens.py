"""Bearer tokens: JWTs signed (RS256) with keys kept encrypted in ``signing_key``.

The key store is the JWKS the OIDC provider publishes: ``jwks`` lists the active key and
retired keys until every token they signed has expired, so rotation never breaks a token
in flight. Verification accepts RS256 only, with a key picked by ``kid`` from that set, and
checks issuer, audience, expiry and the revocation list. joserfc does the JOSE work: it is
authlib's JOSE implementation, split out (``authlib.jose`` is deprecated in its favour).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import KeyStatus, RevokedToken, SigningKey, User
from cityos.foundation.identity.sealing import seal, unseal
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import Unauthenticated, ValidationFailed
from cityos.settings import Settings

ALGORITHM = "RS256"
AUDIENCE = "cityos"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says."""

    subject: uuid.UUID
    jti: str
    expires_at: datetime
    scope: str | None
    claims: dict[str, Any]


def create_signing_key(session: Session, *, settings: Settings) -> SigningKey:
    """A new active RSA-2048 key, its private half encrypted under the installation secret."""
    kid = uuid.uuid4().hex
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})
    row = SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        private_key=seal(settings, context=kid, data=key.as_pem(private=True)),
        public_jwk=dict(key.as_dict(private=False)),
        status=KeyStatus.ACTIVE,
    )
    session.add(row)
    session.flush()
    return row


def active_signing_key(session: Session, *, settings: Settings) -> SigningKey:
    """The newest active key, created on first use."""
    row = session.scalars(
        select(SigningKey)
        .where(SigningKey.status == KeyStatus.ACTIVE)
        .order_by(SigningKey.created_at.desc())
    ).first()
    return row or create_signing_key(session, settings=settings)


def rotate_signing_key(session: Session, *, settings: Settings) -> SigningKey:
    """Retire every active key (published until its last token expires) and make a new one."""
    now = utcnow()
    for row in session.scalars(select(SigningKey).where(SigningKey.status == KeyStatus.ACTIVE)):
        row.status = KeyStatus.RETIRED
        row.retired_at = now
        row.expires_at = now + timedelta(seconds=settings.token_max_ttl)
    session.flush()
    return create_signing_key(session, settings=settings)


def _published(session: Session) -> list[SigningKey]:
    return list(
        session.scalars(
            select(SigningKey)
            .where(
                or_(
                    SigningKey.status == KeyStatus.ACTIVE,
                    SigningKey.expires_at > utcnow(),
                )
            )
            .order_by(SigningKey.created_at)
        )
    )


def jwks(session: Session) -> dict[str, Any]:
    """The public keys tokens may be signed with: active ones and retired ones not expired."""
    return {"keys": [dict(row.public_jwk) for row in _published(session)]}


def issue_token(
    session: Session,
    *,
    settings: Settings,
    user: User,
    ttl: timedelta = timedelta(hours=1),
    scope: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """A signed bearer token for ``user``, valid for ``ttl`` (at most ``token_max_ttl``).

    ``scope`` narrows what the token may do (see ``authz.load_actor``); ``extra`` adds
    claims such as the OIDC ``client_id`` it was issued to.
    """
    seconds = int(ttl.total_seconds())
    if not 0 < seconds <= settings.token_max_ttl:
        raise ValidationFailed(
            f"token lifetime must be between 1 and {settings.token_max_ttl} seconds",
            errors=[{"field": "ttl", "message": "out of range", "type": "range"}],
        )
    if not user.active:
        raise ValidationFailed(f"user {user.username} is not active")
    row = active_signing_key(session, settings=settings)
    key = RSAKey.import_key(unseal(settings, context=row.kid, stored=row.private_key))
    now = int(utcnow().timestamp())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "sub": str(user.id),
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + seconds,
        "jti": uuid.uuid4().hex,
    }
    if scope is not None:
        claims["scope"] = scope
    for name, value in (extra or {}).items():
        claims.setdefault(name, value)
    header = {"alg": ALGORITHM, "kid": row.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[ALGORITHM])


def verify_token(session: Session, token: str, *, settings: Settings) -> TokenClaims:
    """The claims of a token this installation signed and nobody revoked.

    Every fault (malformed, bad signature, unknown key, wrong algorithm, issuer or audience,
    expired, revoked) is the same generic refusal: callers learn nothing to probe with.
    """
    refusal = Unauthenticated("the bearer token is not valid")
    published = jwks(session)
    if not published["keys"]:
        raise refusal
    keys = KeySet.import_key_set(published)  # type: ignore[arg-type]
    try:
        decoded = jwt.decode(token, keys, algorithms=[ALGORITHM])
        if "kid" not in decoded.header:
            raise ValueError("a token without a key id")
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
        )
        registry.validate(decoded.claims)
        subject = uuid.UUID(str(decoded.claims["sub"]))
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise refusal from exc
    jti = str(decoded.claims["jti"])
    if session.get(RevokedToken, jti) is not None:
        raise refusal
    scope = decoded.claims.get("scope")
    return TokenClaims(
        subject=subject,
        jti=jti,
        expires_at=datetime.fromtimestamp(int(decoded.claims["exp"]), tz=utcnow().tzinfo),
        scope=str(scope) if scope is not None else None,
        claims=dict(decoded.claims),
    )


def revoke_token(session: Session, *, jti: str, expires_at: datetime) -> None:
    """Refuse the token ``jti`` from now on (kept until it would have expired anyway)."""
    if session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=expires_at))
        session.flush()
