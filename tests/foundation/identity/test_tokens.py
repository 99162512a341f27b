"""Bearer tokens: signed, verified strictly, revocable, surviving key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session

from cityos.foundation.identity import (
    issue_token,
    jwks,
    revoke_token,
    rotate_signing_key,
    verify_token,
)
from cityos.foundation.identity.models import KeyStatus, SigningKey, User
from cityos.kernel.errors import Unauthenticated, ValidationFailed
from cityos.settings import Settings

from .conftest import MakeUser


@pytest.fixture
def user(make_user: MakeUser) -> User:
    return make_user("token-holder")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, payload, signature = token.split(".")

    def load(part: str) -> dict[str, object]:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]

    return load(header), load(payload), signature


def test_a_token_round_trips(session: Session, settings: Settings, user: User) -> None:
    token = issue_token(session, settings=settings, user=user, ttl=timedelta(minutes=5))
    header, payload, _ = _parts(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == jwks(session)["keys"][0]["kid"]
    assert payload["iss"] == settings.issuer
    assert payload["aud"] == "cityos"
    assert payload["exp"] == payload["iat"] + 300  # type: ignore[operator]
    claims = verify_token(session, token, settings=settings)
    assert claims.subject == user.id
    assert claims.jti == payload["jti"]


def test_the_private_key_is_stored_encrypted(session: Session, settings: Settings) -> None:
    from cityos.foundation.identity.tokens import active_signing_key

    row = active_signing_key(session, settings=settings)
    assert row.private_key.startswith("v1:")
    assert "PRIVATE KEY" not in row.private_key
    assert "d" not in row.public_jwk


def test_an_expired_token_is_refused(session: Session, settings: Settings, user: User) -> None:
    token = issue_token(session, settings=settings, user=user, ttl=timedelta(seconds=1))
    time.sleep(2.1)
    with pytest.raises(Unauthenticated):
        verify_token(session, token, settings=settings)


def test_a_lifetime_beyond_the_limit_is_refused(
    session: Session, settings: Settings, user: User
) -> None:
    with pytest.raises(ValidationFailed):
        issue_token(session, settings=settings, user=user, ttl=timedelta(days=30))


def test_a_tampered_payload_is_refused(session: Session, settings: Settings, user: User) -> None:
    token = issue_token(session, settings=settings, user=user)
    header, _, signature = token.split(".")
    claims = _parts(token)[1]
    claims["sub"] = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(Unauthenticated):
        verify_token(session, f"{header}.{_b64(claims)}.{signature}", settings=settings)


def test_alg_none_is_refused(session: Session, settings: Settings, user: User) -> None:
    token = issue_token(session, settings=settings, user=user)
    header, claims, _ = _parts(token)
    unsigned = f"{_b64({**header, 'alg': 'none'})}.{_b64(claims)}."
    with pytest.raises(Unauthenticated):
        verify_token(session, unsigned, settings=settings)


def test_hs256_signed_with_the_public_key_is_refused(
    session: Session, settings: Settings, user: User
) -> None:
    token = issue_token(session, settings=settings, user=user)
    header, claims, _ = _parts(token)
    public_pem = RSAKey.import_key(jwks(session)["keys"][0]).as_pem(private=False)
    # joserfc will not even build this key; forge it by hand as an attacker would.
    signing_input = f"{_b64({'alg': 'HS256', 'kid': header['kid']})}.{_b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(Unauthenticated):
        verify_token(session, forged, settings=settings)


def test_a_token_signed_by_an_unknown_key_is_refused(
    session: Session, settings: Settings, user: User
) -> None:
    token = issue_token(session, settings=settings, user=user)
    header, claims, _ = _parts(token)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "stranger"})
    for kid in ("stranger", header["kid"]):
        forged = jwt.encode({"alg": "RS256", "kid": kid}, claims, stranger, algorithms=["RS256"])
        with pytest.raises(Unauthenticated):
            verify_token(session, forged, settings=settings)


@pytest.mark.parametrize("field", ["iss", "aud"])
def test_a_wrong_issuer_or_audience_is_refused(
    session: Session, settings: Settings, user: User, field: str
) -> None:
    from cityos.foundation.identity.sealing import unseal
    from cityos.foundation.identity.tokens import active_signing_key

    row = active_signing_key(session, settings=settings)
    key = RSAKey.import_key(unseal(settings, context=row.kid, stored=row.private_key))
    token = issue_token(session, settings=settings, user=user)
    claims = {**_parts(token)[1], field: "https://elsewhere.example"}
    forged = jwt.encode({"alg": "RS256", "kid": row.kid}, claims, key, algorithms=["RS256"])
    with pytest.raises(Unauthenticated):
        verify_token(session, forged, settings=settings)
    other_issuer = settings.model_copy(update={"issuer": "https://elsewhere.example"})
    with pytest.raises(Unauthenticated):
        verify_token(session, token, settings=other_issuer)


def test_a_revoked_token_is_refused(session: Session, settings: Settings, user: User) -> None:
    token = issue_token(session, settings=settings, user=user)
    claims = verify_token(session, token, settings=settings)
    revoke_token(session, jti=claims.jti, expires_at=claims.expires_at)
    with pytest.raises(Unauthenticated):
        verify_token(session, token, settings=settings)


def test_malformed_tokens_are_refused(session: Session, settings: Settings) -> None:
    for junk in ("", "abc", "a.b.c", "a.b", "é.é.é"):
        with pytest.raises(Unauthenticated):
            verify_token(session, junk, settings=settings)


def test_rotation_keeps_old_tokens_valid_while_the_old_key_is_published(
    session: Session, settings: Settings, user: User
) -> None:
    old_token = issue_token(session, settings=settings, user=user)
    old_kid = _parts(old_token)[0]["kid"]
    new_key = rotate_signing_key(session, settings=settings)
    assert {k["kid"] for k in jwks(session)["keys"]} == {old_kid, new_key.kid}
    new_token = issue_token(session, settings=settings, user=user)
    assert _parts(new_token)[0]["kid"] == new_key.kid
    assert verify_token(session, old_token, settings=settings).subject == user.id
    assert verify_token(session, new_token, settings=settings).subject == user.id

    # Once the retired key's last token has expired, it leaves the JWKS and stops verifying.
    old = session.get(SigningKey, old_kid)
    assert old is not None
    assert old.status is KeyStatus.RETIRED or old.status == "retired"
    old.expires_at = old.retired_at  # already past
    session.flush()
    assert {k["kid"] for k in jwks(session)["keys"]} == {new_key.kid}
    with pytest.raises(Unauthenticated):
        verify_token(session, old_token, settings=settings)


def test_a_key_encrypted_under_another_secret_cannot_sign(
    session: Session, settings: Settings, user: User
) -> None:
    issue_token(session, settings=settings, user=user)
    stranger = Settings(
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        secret_key="another-secret-that-is-long-enough-to-use",  # type: ignore[arg-type]
        _env_file=None,  # type: ignore[call-arg]
    )
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        issue_token(session, settings=stranger, user=user)


def test_a_token_without_a_key_id_is_refused(
    session: Session, settings: Settings, user: User
) -> None:
    from cityos.foundation.identity.sealing import unseal
    from cityos.foundation.identity.tokens import active_signing_key

    row = active_signing_key(session, settings=settings)
    key = RSAKey.import_key(unseal(settings, context=row.kid, stored=row.private_key))
    claims = _parts(issue_token(session, settings=settings, user=user))[1]
    forged = jwt.encode({"alg": "RS256"}, claims, key, algorithms=["RS256"])
    with pytest.raises(Unauthenticated):
        verify_token(session, forged, settings=settings)
