"""Sign-in through an upstream OIDC provider (the city's or province's unified identity
platform), configured in a YAML file named by ``CITYOS_FEDERATION_FILE``.

The upstream is an ordinary OIDC provider to us: authlib's client runs the code flow with
PKCE, state and nonce; joserfc checks the ID token against the upstream's published keys.
Its claims map to a local user: an account already linked to the upstream subject, or a
new one (when ``create_users``) with its department taken from a claim through the
configured table, and the configured roles. Each sign-in refreshes name and department.

```yaml
providers:
  - id: shenzhen-uia
    name: {zh: 深圳市统一身份认证平台, en: Shenzhen unified identity platform}
    issuer: https://uia.example.gov.cn
    client_id: luohu-cityos
    client_secret_env: CITYOS_FED_SHENZHEN_SECRET   # the secret itself never sits in a file
    scopes: [openid, profile]
    claims: {username: preferred_username, display_name: name, department: dept_code}
    departments: {"SZ-LH-CGJ": urban-management}
    create_users: true
    kind: staff
    roles: [{role: handler, jurisdiction: ["440303"]}]
```
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.identity.models import (
    Department,
    FederatedIdentity,
    Role,
    RoleAssignment,
    SignInFlow,
    User,
    UserKind,
)
from cityos.kernel.clock import utcnow
from cityos.kernel.i18n import LocalizedText
from cityos.settings import Settings

TIMEOUT = httpx.Timeout(10.0)


class FederationError(RuntimeError):
    """The upstream sign-in failed; the message is for the log, not the person."""


class ClaimNames(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = "preferred_username"
    display_name: str = "name"
    department: str | None = None


class InitialRole(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    department: str | None = None
    jurisdiction: list[str] = Field(default_factory=list)


class UpstreamProvider(BaseModel):
    """One upstream provider of the federation file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,63}$")
    name: LocalizedText
    issuer: str
    client_id: str
    client_secret_env: str
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile"])
    claims: ClaimNames = Field(default_factory=ClaimNames)
    departments: dict[str, str] = Field(default_factory=dict)
    create_users: bool = False
    kind: UserKind = UserKind.STAFF
    roles: list[InitialRole] = Field(default_factory=list)

    def client_secret(self) -> str:
        value = os.environ.get(self.client_secret_env, "")
        if not value:
            raise FederationError(f"{self.client_secret_env} is not set")
        return value


class FederationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: list[UpstreamProvider] = Field(default_factory=list)


@lru_cache(maxsize=8)
def _read(path: Path) -> FederationFile:
    return FederationFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def providers(settings: Settings) -> list[UpstreamProvider]:
    """The configured upstream providers (none without a federation file)."""
    if settings.federation_file is None:
        return []
    return _read(settings.federation_file).providers


def provider(settings: Settings, provider_id: str) -> UpstreamProvider | None:
    return next((p for p in providers(settings) if p.id == provider_id), None)


def callback_uri(settings: Settings, upstream: UpstreamProvider) -> str:
    return f"{settings.issuer.rstrip('/')}/oidc/federation/{upstream.id}/callback"


def _metadata(upstream: UpstreamProvider) -> dict[str, Any]:
    url = upstream.issuer.rstrip("/") + "/.well-known/openid-configuration"
    answer = httpx.get(url, timeout=TIMEOUT)
    answer.raise_for_status()
    document: dict[str, Any] = answer.json()
    if document.get("issuer") != upstream.issuer:
        raise FederationError(f"{url} names another issuer: {document.get('issuer')!r}")
    return document


def authorization_url(settings: Settings, upstream: UpstreamProvider) -> tuple[str, dict[str, str]]:
    """Where to send the browser, and the state, nonce and verifier to keep for the answer."""
    metadata = _metadata(upstream)
    secret = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "code_verifier": secrets.token_urlsafe(48),
    }
    with _client(settings, upstream) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=secret["state"],
            nonce=secret["nonce"],
            code_challenge=create_s256_code_challenge(secret["code_verifier"]),
            code_challenge_method="S256",
        )
    return str(url), secret


def _client(settings: Settings, upstream: UpstreamProvider) -> Any:
    # Imported here: authlib warns on import that its httpx client will move to httpx2,
    # which would land on every CLI command's stderr.
    from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(
        client_id=upstream.client_id,
        client_secret=upstream.client_secret(),
        scope=" ".join(upstream.scopes),
        redirect_uri=callback_uri(settings, upstream),
        timeout=TIMEOUT,
    )


def upstream_claims(
    settings: Settings, upstream: UpstreamProvider, *, flow: SignInFlow, callback_url: str
) -> dict[str, Any]:
    """Exchange the upstream's code and return its verified ID-token claims."""
    metadata = _metadata(upstream)
    with _client(settings, upstream) as client:
        token = client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=callback_url,
            code_verifier=flow.code_verifier,
            state=flow.state,
        )
    id_token = token.get("id_token")
    if not id_token:
        raise FederationError("the upstream answered without an ID token")
    keys = httpx.get(metadata["jwks_uri"], timeout=TIMEOUT)
    keys.raise_for_status()
    try:
        decoded = jwt.decode(id_token, KeySet.import_key_set(keys.json()), algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": upstream.issuer},
            aud={"essential": True, "value": upstream.client_id},
            nonce={"essential": True, "value": flow.nonce or ""},
            sub={"essential": True},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise FederationError(f"the upstream ID token does not verify: {exc}") from exc
    return dict(decoded.claims)


def local_user(session: Session, upstream: UpstreamProvider, claims: dict[str, Any]) -> User | None:
    """The local account for the upstream person: linked before, or made now when the
    provider may create users; None when neither (the person is refused)."""
    subject = str(claims["sub"])
    link = session.scalar(
        select(FederatedIdentity).where(
            FederatedIdentity.provider == upstream.id, FederatedIdentity.subject == subject
        )
    )
    department = _department(session, upstream, claims)
    name = str(claims.get(upstream.claims.display_name) or "")
    now = utcnow()
    if link is not None:
        user = session.get(User, link.user_id)
        if user is None or not user.active:
            return None
        if name:
            user.display_name = name[:100]
        if department is not None:
            user.department_id = department.id
        link.last_sign_in_at = now
        user.last_sign_in_at = now
        session.flush()
        return user
    if not upstream.create_users:
        return None
    wanted = str(claims.get(upstream.claims.username) or subject)
    username = f"{upstream.id}:{wanted}"[:64]
    user = User(
        username=username,
        display_name=(name or wanted)[:100],
        kind=upstream.kind,
        department_id=department.id if department else None,
        last_sign_in_at=now,
    )
    session.add(user)
    session.flush()
    session.add(
        FederatedIdentity(
            provider=upstream.id, subject=subject, user_id=user.id, last_sign_in_at=now
        )
    )
    for initial in upstream.roles:
        if session.get(Role, initial.role) is None:
            continue
        role_department = (
            session.scalar(select(Department).where(Department.code == initial.department))
            if initial.department
            else department
        )
        session.add(
            RoleAssignment(
                user_id=user.id,
                role=initial.role,
                department_id=role_department.id if role_department else None,
                jurisdiction=list(initial.jurisdiction),
            )
        )
    session.flush()
    record(
        session,
        actor=f"federation:{upstream.id}",
        action="identity.user_create",
        target_type="user",
        target_id=str(user.id),
        outcome="success",
        details={"provider": upstream.id, "roles": [r.role for r in upstream.roles]},
    )
    return user


def _department(
    session: Session, upstream: UpstreamProvider, claims: dict[str, Any]
) -> Department | None:
    if upstream.claims.department is None:
        return None
    code = upstream.departments.get(str(claims.get(upstream.claims.department) or ""))
    if code is None:
        return None
    return session.scalar(select(Department).where(Department.code == code))
