"""Secrets the provider itself must read back (signing keys, TOTP seeds), sealed with
AES-GCM under a key derived from the installation secret and bound to their context.

Personal data uses the privacy module's rotating data keys instead; these secrets are the
provider's own and rotate with the installation secret (``cityos auth rotate-key`` for
signing keys, re-enrolment for authenticators).
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cityos.settings import Settings

_INFO = b"cityos signing-key encryption v1"


def _key(settings: Settings, context: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=context.encode(), info=_INFO).derive(
        settings.secret_key_value().encode()
    )
    return AESGCM(derived)


def seal(settings: Settings, *, context: str, data: bytes) -> str:
    """``data`` encrypted and bound to ``context`` (a key id, ``totp:<user id>``)."""
    nonce = os.urandom(12)
    sealed = _key(settings, context).encrypt(nonce, data, context.encode())
    return "v1:" + base64.b64encode(nonce + sealed).decode()


def unseal(settings: Settings, *, context: str, stored: str) -> bytes:
    """What ``seal`` sealed for ``context``; fails loudly on another context or secret."""
    version, _, payload = stored.partition(":")
    if version != "v1":
        raise ValueError(f"sealed value for {context} is in an unknown format")
    raw = base64.b64decode(payload)
    return _key(settings, context).decrypt(raw[:12], raw[12:], context.encode())
