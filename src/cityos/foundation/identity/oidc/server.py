"""The OIDC provider's protocol core, on authlib's authorization server.

authlib does the protocol: request validation, exact redirect-URI matching, PKCE
(RFC 7636, required for public clients), the grants' token responses and errors, ID
tokens, RP-initiated logout and revocation. This file supplies what authlib leaves to
its host: where clients, codes and refresh tokens are stored (hashed, in our tables), how
an HTTP request is read (Starlette has no authlib server integration; authlib's Flask and
Django ones are the pattern followed here), and how tokens are minted: access tokens are
the platform's own RS256 JWTs (``tokens.issue_token``), so every API accepts them as it
accepts any bearer token, and ID tokens are signed with the same published keys.

A server is built per request around that request's database session; building one is a
few object allocations.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, JsonPayload, JsonRequest
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from cityos.foundation.identity.authz import API_SCOPE
from cityos.foundation.identity.models import (
    OAuthClient,
    OAuthCode,
    OAuthRefreshToken,
    SignInSession,
    User,
)
from cityos.foundation.identity.sealing import unseal
from cityos.foundation.identity.tokens import (
    ALGORITHM,
    active_signing_key,
    issue_token,
    jwks,
    revoke_token,
    verify_token,
)
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import Unauthenticated
from cityos.settings import Settings

SUPPORTED_SCOPES = ("openid", "profile", "phone", "offline_access", API_SCOPE)

ACCESS_TOKEN_TTL = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=7)
CODE_TTL = timedelta(minutes=2)
CLIENT_CREDENTIALS_TTL = timedelta(hours=1)

_hasher = PasswordHasher()


def token_hash(value: str) -> str:
    """How codes, refresh tokens and cookies are stored: their SHA-256, never themselves."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class HttpRequest:
    """What the provider reads of an HTTP request (the body already read)."""

    method: str
    url: str
    headers: Mapping[str, str]
    query: dict[str, str]
    form: dict[str, str]
    sign_in: SignInSession | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ProviderRequest(OAuth2Request):  # type: ignore[misc]
    """authlib's request over an ``HttpRequest``: query and form merged as its payload."""

    def __init__(self, http: HttpRequest) -> None:
        super().__init__(method=http.method, uri=http.url, headers=http.headers)
        self.http = http
        self.payload = BasicOAuth2Payload({**http.query, **http.form})

    @property
    def args(self) -> dict[str, str]:
        return self.http.query

    @property
    def form(self) -> dict[str, str]:
        return self.http.form


class Client(ClientMixin):  # type: ignore[misc]
    """authlib's view of an ``OAuthClient`` row."""

    def __init__(self, row: OAuthClient) -> None:
        self.row = row
        self.client_id = row.client_id
        self.client_metadata: dict[str, Any] = {
            "post_logout_redirect_uris": list(row.post_logout_redirect_uris)
        }

    @property
    def public(self) -> bool:
        return self.row.secret_hash is None

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Never guessed: a request must name one of the registered URIs exactly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.row.scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.row.secret_hash is None:
            return False
        try:
            return _hasher.verify(self.row.secret_hash, client_secret)
        except (VerificationError, InvalidHashError):
            return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.row.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types


class Code:
    """authlib's view of an ``OAuthCode`` row (also OIDC's: nonce, auth time, methods)."""

    def __init__(self, row: OAuthCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.row.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str]:
        return [str(m) for m in self.row.amr]


class RefreshToken:
    """authlib's view of an ``OAuthRefreshToken`` row."""

    def __init__(self, row: OAuthRefreshToken) -> None:
        self.row = row

    def get_scope(self) -> str:
        return self.row.scope

    def check_client(self, client: Client) -> bool:
        return self.row.client_id == client.get_client_id()

    def is_expired(self) -> bool:
        return self.row.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.row.rotated_at is not None


def user_claims(session: Session, user: User, scope: str) -> dict[str, Any]:
    """The claims about ``user`` that ``scope`` lets a client read (ID token, userinfo)."""
    from cityos.foundation.identity.models import Department

    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": str(user.id)}
    if "profile" in scopes:
        claims.update(
            name=user.display_name,
            preferred_username=user.username,
            locale="zh-CN",
            zoneinfo="Asia/Shanghai",
            user_kind=str(user.kind),
        )
        if user.department_id is not None:
            department = session.get(Department, user.department_id)
            if department is not None:
                claims["department"] = department.code
    if "phone" in scopes and user.phone:
        claims.update(phone_number=f"+86{user.phone}", phone_number_verified=True)
    return claims


class Provider(AuthorizationServer):  # type: ignore[misc]
    """authlib's authorization server bound to one request's session and the settings."""

    def __init__(self, session: Session, settings: Settings) -> None:
        super().__init__(scopes_supported=None)
        self.session = session
        self.settings = settings
        self.register_token_generator("default", self._generate_token)
        self.register_grant(
            AuthorizationCodeGrant, [S256Challenge(required=True), ProviderOpenIDCode(self)]
        )
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Revocation(self))
        self.register_endpoint(EndSession(self))

    # --- what authlib asks its host for ---------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        row = self.session.get(OAuthClient, client_id) if client_id else None
        return Client(row) if row is not None and row.active else None

    def save_token(self, token: dict[str, Any], request: ProviderRequest) -> None:
        refresh = token.get("refresh_token")
        if not refresh:
            return
        now = utcnow()
        previous: OAuthRefreshToken | None = (
            request.refresh_token.row if isinstance(request.refresh_token, RefreshToken) else None
        )
        code: OAuthCode | None = (
            request.authorization_code.row if isinstance(request.authorization_code, Code) else None
        )
        source = previous or code
        assert source is not None, "a refresh token comes from a code or a refresh token"
        self.session.add(
            OAuthRefreshToken(
                token_hash=token_hash(refresh),
                family_id=previous.family_id if previous else uuid.uuid4(),
                client_id=request.client.get_client_id(),
                user_id=request.user.id,
                session_id=source.session_id,
                scope=token.get("scope") or source.scope,
                auth_time=source.auth_time,
                amr=list(source.amr),
                issued_at=now,
                expires_at=now + REFRESH_TOKEN_TTL,
            )
        )
        self.session.flush()

    def create_oauth2_request(self, request: HttpRequest | ProviderRequest) -> ProviderRequest:
        return request if isinstance(request, ProviderRequest) else ProviderRequest(request)

    def create_json_request(self, request: HttpRequest) -> JsonRequest:
        json_request = JsonRequest(request.method, request.url, request.headers)
        json_request.payload = JsonPayload(request.form)
        return json_request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        plain = dict(headers)
        if isinstance(body, dict):
            plain.pop("Content-Type", None)
            return JSONResponse(body, status_code=status, headers=plain)
        return Response(body or b"", status_code=status, headers=plain)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    # --- tokens ----------------------------------------------------------------------

    def _generate_token(
        self,
        grant_type: str,
        client: Client,
        user: User | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        ttl = CLIENT_CREDENTIALS_TTL if grant_type == "client_credentials" else ACCESS_TOKEN_TTL
        subject = user if user is not None else _client_account(self.session, client)
        granted = scope or ""
        if grant_type == "client_credentials" and not granted:
            # A system that names no scope gets what its registration allows.
            granted = " ".join(str(s) for s in client.row.scopes)
        access = issue_token(
            self.session,
            settings=self.settings,
            user=subject,
            ttl=ttl,
            scope=granted,
            extra={"client_id": client.get_client_id()},
        )
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": int(ttl.total_seconds()),
            "scope": granted,
        }
        if include_refresh_token and user is not None and "offline_access" in granted.split():
            token["refresh_token"] = secrets.token_urlsafe(48)
        return token

    def private_keys(self) -> KeySet:
        """The active signing key (private), for ID tokens and signed logout checks."""
        row = active_signing_key(self.session, settings=self.settings)
        pem = unseal(self.settings, context=row.kid, stored=row.private_key)
        from joserfc.jwk import RSAKey

        key = RSAKey.import_key(pem, parameters={"kid": row.kid, "alg": ALGORITHM, "use": "sig"})
        return KeySet([key])


def _client_account(session: Session, client: Client) -> User:
    if client.row.user_id is None:
        raise Unauthenticated("this client has no system account to act as")
    account = session.get(User, client.row.user_id)
    if account is None or not account.active:
        raise Unauthenticated("this client's system account is not active")
    return account


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
    server: Provider

    def save_authorization_code(self, code: str, request: ProviderRequest) -> None:
        sign_in = request.http.sign_in
        assert sign_in is not None, "codes are issued only to a signed-in browser"
        data = request.payload.data
        now = utcnow()
        self.server.session.add(
            OAuthCode(
                code_hash=token_hash(code),
                client_id=request.client.get_client_id(),
                user_id=request.user.id,
                session_id=sign_in.id,
                redirect_uri=data["redirect_uri"],
                scope=request.scope or "",
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=sign_in.auth_time,
                amr=list(sign_in.amr),
                expires_at=now + CODE_TTL,
            )
        )
        self.server.session.flush()

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        session = self.server.session
        row = session.get(OAuthCode, token_hash(code))
        if row is None or row.client_id != client.get_client_id():
            return None
        if row.used_at is not None:
            # A code used twice was intercepted: what the first use got is revoked too.
            _revoke_code_tokens(session, row)
            return None
        if row.expires_at <= utcnow():
            return None
        return Code(row)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        authorization_code.row.used_at = utcnow()
        self.server.session.flush()

    def authenticate_user(self, authorization_code: Code) -> User | None:
        user = self.server.session.get(User, authorization_code.row.user_id)
        return user if user is not None and user.active else None


def _revoke_code_tokens(session: Session, code: OAuthCode) -> None:
    session.execute(
        update(OAuthRefreshToken)
        .where(
            OAuthRefreshToken.client_id == code.client_id,
            OAuthRefreshToken.user_id == code.user_id,
            OAuthRefreshToken.issued_at >= code.created_at,
            OAuthRefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only: ``plain`` would hand the verifier to whoever sees the URL."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        # authlib only checks a public client's verifier at the token endpoint; refusing
        # at the authorization endpoint tells the client before the person signs in.
        client = grant.request.client
        challenge = grant.request.payload.data.get("code_challenge")
        if isinstance(client, Client) and client.public and not challenge:
            raise InvalidRequestError("a public client must send a PKCE code_challenge")
        super().validate_code_challenge(grant, redirect_uri)


class ProviderOpenIDCode(OpenIDCode):  # type: ignore[misc]
    """ID tokens for the code flow, signed with the platform's active key."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: ProviderRequest) -> bool:
        found = self.provider.session.scalar(
            select(OAuthCode.code_hash).where(
                OAuthCode.client_id == request.payload.client_id, OAuthCode.nonce == nonce
            )
        )
        return found is not None

    def resolve_client_private_key(self, client: Client) -> KeySet:
        return self.provider.private_keys()

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.provider.settings.issuer, "aud": [client.get_client_id()]}

    def get_encode_header(self, client: Client) -> dict[str, str]:
        row = active_signing_key(self.provider.session, settings=self.provider.settings)
        return {"alg": ALGORITHM, "kid": row.kid, "typ": "JWT"}

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return UserInfo(user_claims(self.provider.session, user, scope))


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """Refresh with rotation: each use returns a new refresh token and retires the old;
    presenting a retired one again revokes its whole family (OAuth 2.0 Security BCP)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: Provider

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        session = self.server.session
        row = session.scalar(
            select(OAuthRefreshToken).where(
                OAuthRefreshToken.token_hash == token_hash(refresh_token)
            )
        )
        if row is None:
            return None
        if row.rotated_at is not None and row.revoked_at is None:
            revoke_family(session, row.family_id)
            return None
        wrapped = RefreshToken(row)
        if wrapped.is_revoked() or wrapped.is_expired():
            return None
        if row.session_id is not None:
            sign_in = session.get(SignInSession, row.session_id)
            if sign_in is not None and sign_in.ended_at is not None:
                return None
        return wrapped

    def authenticate_user(self, refresh_token: RefreshToken) -> User | None:
        user = self.server.session.get(User, refresh_token.row.user_id)
        return user if user is not None and user.active else None

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        refresh_token.row.rotated_at = utcnow()
        self.server.session.flush()


def revoke_family(session: Session, family_id: uuid.UUID) -> None:
    """Revoke every refresh token descended from one sign-in."""
    session.execute(
        update(OAuthRefreshToken)
        .where(OAuthRefreshToken.family_id == family_id, OAuthRefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    """A system signs in as itself (its client's system account), with a client secret."""

    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009: a client revokes its refresh token (with its family) or access token."""

    CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
    server: Provider

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        session = self.server.session
        row = session.scalar(
            select(OAuthRefreshToken).where(
                OAuthRefreshToken.token_hash == token_hash(token_string)
            )
        )
        if row is not None:
            return RefreshToken(row)
        try:
            return verify_token(session, token_string, settings=self.server.settings)
        except Unauthenticated:
            return None

    def revoke_token(self, token: Any, request: ProviderRequest) -> None:
        session = self.server.session
        if isinstance(token, RefreshToken):
            if token.row.client_id == request.client.get_client_id():
                revoke_family(session, token.row.family_id)
            return
        if token.claims.get("client_id") == request.client.get_client_id():
            revoke_token(session, jti=token.jti, expires_at=token.expires_at)


class EndSession(EndSessionEndpoint):  # type: ignore[misc]
    """RP-initiated logout: the browser's provider session ends, with its refresh tokens."""

    server: Provider

    def get_server_jwks(self) -> dict[str, Any]:
        return jwks(self.server.session)

    def get_algorithms(self) -> list[str]:
        return [ALGORITHM]

    def resolve_client_from_id_token_claims(self, id_token_claims: dict[str, Any]) -> Any:
        # Our ID tokens name their one audience in a list.
        aud = id_token_claims.get("aud")
        if isinstance(aud, list) and len(aud) == 1:
            aud = aud[0]
        return self.server.query_client(aud) if isinstance(aud, str) else None

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        http: HttpRequest = end_session_request.request.http
        if http.sign_in is not None:
            end_sign_in_session(self.server.session, http.sign_in)


def end_sign_in_session(session: Session, sign_in: SignInSession) -> None:
    """End a browser's provider session and revoke the refresh tokens issued in it."""
    now = utcnow()
    sign_in.ended_at = now
    session.execute(
        update(OAuthRefreshToken)
        .where(OAuthRefreshToken.session_id == sign_in.id, OAuthRefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
