"""The organisation, its people, their roles and the keys that sign their tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityos.foundation.privacy import EncryptedString, register_encrypted_column
from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base, IdMixin, TimestampMixin


class UserKind(StrEnum):
    STAFF = "staff"
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    SYSTEM = "system"


class Scope(StrEnum):
    """How far a role's permissions reach: the whole district, the assignment's regions
    (and department), or only the holder's own records."""

    DISTRICT = "district"
    JURISDICTION = "jurisdiction"
    OWN = "own"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Department(IdMixin, TimestampMixin, Base):
    """A unit of the district government (局, 街道办事处, 社区工作站 …)."""

    __tablename__ = "department"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(String(15))
    sort: Mapped[int] = mapped_column(default=0)


class User(IdMixin, TimestampMixin, Base):
    """A person or system that signs in; what they may do comes from ``RoleAssignment``."""

    __tablename__ = "app_user"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[UserKind] = mapped_column(String(16))
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column()
    # A citizen's sign-in phone: sealed at rest, found through its keyed hash.
    phone: Mapped[str | None] = mapped_column(EncryptedString("mobile", aad="app_user.phone"))
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    # Consecutive failed sign-ins and the lock they earn (reset by a successful one).
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_sign_in_at: Mapped[datetime | None] = mapped_column()
    is_demo: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


register_encrypted_column(User.__table__, "id", "phone")  # type: ignore[arg-type]


class Role(TimestampMixin, Base):
    """A role of the profile's ``roles.yaml``: permission patterns (``geo.*``) and a scope."""

    __tablename__ = "role"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    permissions: Mapped[list[Any]] = mapped_column(default=list)
    scope: Mapped[Scope] = mapped_column(String(16))
    mfa_required: Mapped[bool] = mapped_column(default=False)


class RoleAssignment(IdMixin, TimestampMixin, Base):
    """A user holds a role for a department, over a jurisdiction (region code prefixes)."""

    __tablename__ = "role_assignment"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(ForeignKey("role.code"), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("department.id"))
    jurisdiction: Mapped[list[Any]] = mapped_column(default=list)


class SigningKey(Base):
    """A key that signs bearer (and, later, OIDC) tokens; the private half encrypted at rest.

    Retired keys no longer sign but stay published in the JWKS until ``expires_at``, so
    tokens they signed keep verifying until those tokens expire.
    """

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_key: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[KeyStatus] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()


class RevokedToken(Base):
    """A token refused before its expiry; rows can be purged once ``expires_at`` has passed."""

    __tablename__ = "revoked_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(IdMixin, Base):
    """A key a device or system sends instead of a bearer token, on behalf of its owner.

    Only a keyed hash of the key is kept; ``prefix`` (part of the key itself) finds the row
    and is what people see. ``scopes`` (permission patterns) narrow what the owner may do.
    """

    __tablename__ = "api_key"

    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()


class OAuthClient(TimestampMixin, Base):
    """A relying party of the OIDC provider: a web page, an app or a system.

    A public client (no ``secret_hash``) must use PKCE. Redirect URIs match exactly.
    ``user_id`` is the system account a client acts as with client credentials.
    """

    __tablename__ = "oauth_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    redirect_uris: Mapped[list[Any]] = mapped_column(default=list)
    post_logout_redirect_uris: Mapped[list[Any]] = mapped_column(default=list)
    grant_types: Mapped[list[Any]] = mapped_column(default=list)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    first_party: Mapped[bool] = mapped_column(default=False)
    from_profile: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class OAuthCode(Base):
    """An authorization code, kept as a hash, good once and for a few minutes."""

    __tablename__ = "oauth_code"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column()
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    auth_time: Mapped[datetime] = mapped_column()
    amr: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column()


class OAuthRefreshToken(IdMixin, Base):
    """A refresh token, kept as a hash. Each use replaces it with a new one of the same
    ``family_id``; a replaced token used again revokes the whole family (it was stolen)."""

    __tablename__ = "oauth_refresh_token"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    scope: Mapped[str] = mapped_column(Text)
    auth_time: Mapped[datetime] = mapped_column()
    amr: Mapped[list[Any]] = mapped_column(default=list)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class SignInSession(IdMixin, Base):
    """A browser's signed-in session at the provider (single sign-on), named by a cookie
    whose value is kept only as a hash. Ending it ends the refresh tokens issued in it."""

    __tablename__ = "sign_in_session"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    auth_time: Mapped[datetime] = mapped_column()
    amr: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column()


class SignInFlow(IdMixin, Base):
    """A sign-in under way (password done, second factor to come; an upstream provider's
    answer awaited), named by a short-lived cookie kept only as a hash."""

    __tablename__ = "sign_in_flow"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    stage: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    return_to: Mapped[str] = mapped_column(Text)
    amr: Mapped[list[Any]] = mapped_column(default=list)
    provider: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(128), index=True)
    nonce: Mapped[str | None] = mapped_column(String(128))
    code_verifier: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class TotpCredential(Base):
    """A user's TOTP authenticator: the secret sealed under the installation secret,
    confirmed once a first code from it verified; ``last_step`` refuses a replayed code."""

    __tablename__ = "totp_credential"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column()
    last_step: Mapped[int | None] = mapped_column()


class SmsCode(IdMixin, Base):
    """A one-time code sent by SMS, kept as a hash, found by the phone's keyed hash."""

    __tablename__ = "sms_code"

    phone_bidx: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column()


class FederatedIdentity(IdMixin, Base):
    """A local user's account at an upstream identity provider (``provider``, ``subject``)."""

    __tablename__ = "federated_identity"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column()
