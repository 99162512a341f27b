"""The relying parties of the OIDC provider (接入应用): web pages, apps and systems.

A confidential client's secret is shown once, when it is made or rotated, and kept only as
an Argon2 hash. Redirect URIs are absolute http(s) URLs without a fragment and are matched
as exact strings, so what is stored here is exactly what a request must send.

The profile's ``clients.yaml`` declares the platform's own clients (the web pages). A path
there (``/workbench/``) is resolved against ``CITYOS_ISSUER`` when the profile is loaded.
The loader skips a profile whose files have not changed, so after changing the issuer the
stored URIs follow only at the next load of a changed profile.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.identity.admin import Audit
from cityos.foundation.identity.models import OAuthClient, User, UserKind
from cityos.foundation.identity.permissions import PATTERN
from cityos.foundation.identity.service import hash_password
from cityos.kernel.errors import Conflict, NotFound, ValidationFailed
from cityos.kernel.i18n import LocalizedText
from cityos.kernel.registry import ProfileSection

if TYPE_CHECKING:
    from cityos.kernel.profiles import ProfileContext

CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
OIDC_SCOPES = ("openid", "profile", "phone", "api", "offline_access")

GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]


@dataclass(frozen=True)
class IssuedClient:
    """A client as stored, and its secret (confidential clients), shown once only."""

    client: OAuthClient
    secret: str | None


def _invalid(field_name: str, message: str, kind: str = "value_error") -> ValidationFailed:
    return ValidationFailed(
        f"{field_name}: {message}",
        errors=[{"field": field_name, "message": message, "type": kind}],
    )


def uri_fault(uri: str) -> str | None:
    """Why ``uri`` cannot be a redirect URI, or None if it can."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an absolute http(s) URL"
    if "#" in uri:
        return "must not have a fragment"
    if uri != uri.strip() or any(c.isspace() for c in uri):
        return "must not contain spaces"
    return None


def _check_uris(field_name: str, uris: Sequence[str]) -> list[str]:
    for index, uri in enumerate(uris):
        fault = uri_fault(uri)
        if fault:
            raise _invalid(f"{field_name}[{index}]", f"{uri!r} {fault}", "uri")
    return list(dict.fromkeys(uris))


def _check_scopes(scopes: Sequence[str]) -> list[str]:
    bad = [s for s in scopes if s not in OIDC_SCOPES and not PATTERN.match(s)]
    if bad:
        raise _invalid(
            "scopes", f"neither an OIDC scope nor a permission pattern: {', '.join(bad)}"
        )
    return list(dict.fromkeys(scopes))


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def create_client(
    session: Session,
    *,
    audit: Audit,
    client_id: str,
    name_zh: str,
    name_en: str,
    confidential: bool,
    redirect_uris: Sequence[str] = (),
    post_logout_redirect_uris: Sequence[str] = (),
    grant_types: Sequence[str] = ("authorization_code", "refresh_token"),
    scopes: Sequence[str] = ("openid", "profile"),
    user: str | None = None,
    first_party: bool = False,
) -> IssuedClient:
    """A new client; a confidential one gets a secret, returned here and never again.

    Client credentials need a confidential client and the system account (``user``, a
    username) it acts as; the
    authorization code grant needs at least one redirect URI.
    """
    if not CLIENT_ID.match(client_id):
        raise _invalid("client_id", "lower-case letters, digits, . _ -; 2–64 long", "pattern")
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown or not grant_types:
        raise _invalid("grant_types", f"each one of {', '.join(GRANT_TYPES)}", "enum")
    redirects = _check_uris("redirect_uris", redirect_uris)
    logouts = _check_uris("post_logout_redirect_uris", post_logout_redirect_uris)
    if "authorization_code" in grant_types and not redirects:
        raise _invalid("redirect_uris", "the authorization code grant needs one", "missing")
    if "client_credentials" in grant_types:
        if not confidential:
            raise _invalid("grant_types", "client credentials need a confidential client")
        if user is None:
            raise _invalid("user", "client credentials act as a system account", "missing")
    account = None
    if user is not None:
        account = session.scalars(select(User).where(User.username == user)).first()
        if account is None or account.kind != UserKind.SYSTEM or not account.active:
            raise _invalid("user", f"{user!r} is not an active system account", "unknown")
    if session.get(OAuthClient, client_id) is not None:
        raise Conflict(f"client {client_id!r} exists already", code="client_exists")
    secret = _new_secret() if confidential else None
    client = OAuthClient(
        client_id=client_id,
        name_zh=name_zh,
        name_en=name_en,
        secret_hash=hash_password(secret) if secret else None,
        redirect_uris=redirects,
        post_logout_redirect_uris=logouts,
        grant_types=list(dict.fromkeys(grant_types)),
        scopes=_check_scopes(scopes),
        user_id=account.id if account else None,
        first_party=first_party,
        from_profile=False,
        active=True,
    )
    session.add(client)
    session.flush()
    audit.record(
        session,
        action="identity.client_create",
        target_type="oauth_client",
        target_id=client_id,
        details={
            "confidential": confidential,
            "grant_types": client.grant_types,
            "scopes": client.scopes,
            "redirect_uris": len(redirects),
        },
    )
    return IssuedClient(client, secret)


def list_clients(session: Session) -> list[OAuthClient]:
    """Every client, by id."""
    return list(session.scalars(select(OAuthClient).order_by(OAuthClient.client_id)))


def get_client(session: Session, *, client_id: str) -> OAuthClient:
    """The client ``client_id``, or ``NotFound``."""
    client = session.get(OAuthClient, client_id)
    if client is None:
        raise NotFound(f"no client {client_id!r}")
    return client


def deactivate_client(session: Session, *, audit: Audit, client_id: str) -> OAuthClient:
    """Refuse the client from now on (its rows stay: codes and tokens refer to them)."""
    client = get_client(session, client_id=client_id)
    if client.active:
        client.active = False
        session.flush()
        audit.record(
            session,
            action="identity.client_deactivate",
            target_type="oauth_client",
            target_id=client_id,
            details={},
        )
    return client


def rotate_secret(session: Session, *, audit: Audit, client_id: str) -> str:
    """A new secret for a confidential client; the old one stops working at once."""
    client = get_client(session, client_id=client_id)
    if client.secret_hash is None:
        raise Conflict(
            f"client {client_id!r} is public (it uses PKCE) and has no secret",
            code="public_client",
        )
    secret = _new_secret()
    client.secret_hash = hash_password(secret)
    session.flush()
    audit.record(
        session,
        action="identity.client_secret_rotate",
        target_type="oauth_client",
        target_id=client_id,
        details={},
    )
    return secret


# --- the profile's clients.yaml --------------------------------------------------------


def _profile_uri(value: str) -> str:
    if value.startswith("/") and not value.startswith("//"):
        if "#" in value:
            raise ValueError(f"{value!r} must not have a fragment")
        return value
    fault = uri_fault(value)
    if fault:
        raise ValueError(f"{value!r} {fault} (or a path starting with /)")
    return value


class ClientEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(pattern=CLIENT_ID.pattern)
    name: LocalizedText
    first_party: bool = False
    grant_types: list[GrantType] = Field(min_length=1)
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile"])
    redirect_uris: list[str] = Field(default_factory=list)
    post_logout_redirect_uris: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ClientEntry:
        for uri in (*self.redirect_uris, *self.post_logout_redirect_uris):
            _profile_uri(uri)
        bad = [s for s in self.scopes if s not in OIDC_SCOPES and not PATTERN.match(s)]
        if bad:
            raise ValueError(f"unknown scopes: {', '.join(bad)}")
        if "client_credentials" in self.grant_types:
            # A profile is published; it cannot hold a secret, so no confidential clients.
            raise ValueError("profile clients are public: client_credentials needs a secret")
        if "authorization_code" in self.grant_types and not self.redirect_uris:
            raise ValueError("the authorization code grant needs a redirect URI")
        return self


class ClientsFile(BaseModel):
    """``clients.yaml``."""

    model_config = ConfigDict(extra="forbid")

    clients: list[ClientEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ClientsFile:
        ids = [c.client_id for c in self.clients]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"client ids used twice: {', '.join(duplicates)}")
        return self


def resolve_uri(uri: str, issuer: str) -> str:
    """``uri`` made absolute: a path is appended to the issuer (keeping the issuer's path)."""
    if uri.startswith("/"):
        return issuer.rstrip("/") + uri
    return uri


def _load_clients(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    issuer = context.settings.issuer
    declared: set[str] = set()
    for document in documents:
        assert isinstance(document, ClientsFile)
        for entry in document.clients:
            declared.add(entry.client_id)
            values: dict[str, Any] = {
                "name_zh": entry.name.zh,
                "name_en": entry.name.en,
                "first_party": entry.first_party,
                "grant_types": list(entry.grant_types),
                "scopes": list(entry.scopes),
                "redirect_uris": [resolve_uri(u, issuer) for u in entry.redirect_uris],
                "post_logout_redirect_uris": [
                    resolve_uri(u, issuer) for u in entry.post_logout_redirect_uris
                ],
                "from_profile": True,
                "active": True,
            }
            for key in ("redirect_uris", "post_logout_redirect_uris"):
                for uri in values[key]:
                    fault = uri_fault(uri)
                    if fault:
                        raise _invalid(key, f"{uri!r} {fault} (check CITYOS_ISSUER)", "uri")
            client = session.get(OAuthClient, entry.client_id)
            if client is None:
                session.add(OAuthClient(client_id=entry.client_id, secret_hash=None, **values))
                context.count("clients")
            elif any(getattr(client, k) != v for k, v in values.items()):
                # The secret, if an operator gave one, is theirs: the profile never sets it.
                for key, value in values.items():
                    setattr(client, key, value)
                context.count("clients")
    # A client the profile no longer declares is switched off, not deleted: its codes and
    # refresh tokens refer to it.
    for client in session.scalars(
        select(OAuthClient).where(OAuthClient.from_profile.is_(True), OAuthClient.active)
    ):
        if client.client_id not in declared:
            client.active = False
            context.count("clients_deactivated")
    session.flush()


clients_section = ProfileSection(
    name="clients",
    files=("clients.yaml",),
    schema=ClientsFile,
    load=_load_clients,
    order=20,
    required=False,
)
