"""Field encryption: envelope keys, the process key ring, and keyed-hash (blind) indexes.

Built on ``cryptography``'s AES-256-GCM and HKDF; only the envelope around them is ours.
A value is stored as ``v1:<key id>:<nonce>:<ciphertext>`` (URL-safe base64, no padding),
sealed with the table-and-column name as associated data, so a value copied into another
column does not decrypt. Data keys live in ``privacy_key``, each sealed by a master key
derived with HKDF from ``CITYOS_PII_MASTER_KEY`` (or, in demo mode without one, from the
secret key). Blind indexes use a second HKDF key of the same master secret, not a data
key, so rotating data keys leaves every index valid.

Each process installs one ``KeyRingProvider`` at start-up (``install``); the column type
and ``blind_index`` read it. The provider reloads the (tiny) key table every few seconds
and at once when it meets a key id it does not know, so a rotation run by another process
is seen without a restart.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.orm import Session

from cityos.foundation.privacy import validators
from cityos.foundation.privacy.masking import PiiKind
from cityos.foundation.privacy.models import PrivacyKey
from cityos.kernel.clock import utcnow
from cityos.kernel.runtime import Runtime
from cityos.settings import Settings

VERSION = "v1"
ACTIVE = "active"
RETIRED = "retired"
_SALT = b"cityos/pii"


class PrivacyError(RuntimeError):
    """Personal-data encryption cannot do what was asked."""


class KeyRingNotInstalled(PrivacyError):
    """An encrypted column or blind index was used before ``install`` ran in this process."""


class DecryptionFailed(PrivacyError):
    """A stored value was altered, belongs to another column, or its key is unknown."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def master_secret(settings: Settings) -> bytes:
    """The secret every personal-data key derives from."""
    if settings.pii_master_key is not None and settings.pii_master_key.get_secret_value():
        return settings.pii_master_key.get_secret_value().encode("utf-8")
    return settings.secret_key_value().encode("utf-8")


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose).derive(secret)


def _wrapping_key(settings: Settings) -> AESGCM:
    return AESGCM(_derive(master_secret(settings), b"cityos/pii/key-wrapping/v1"))


def index_key(settings: Settings) -> bytes:
    """The HMAC key of blind indexes (independent of data keys, so rotation keeps them)."""
    return _derive(master_secret(settings), b"cityos/pii/blind-index/v1")


def wrap_key(settings: Settings, key_id: str, data_key: bytes) -> str:
    """``data_key`` sealed by the master key, bound to its id."""
    nonce = os.urandom(12)
    sealed = _wrapping_key(settings).encrypt(nonce, data_key, f"privacy_key:{key_id}".encode())
    return f"{_b64(nonce)}:{_b64(sealed)}"


def unwrap_key(settings: Settings, key_id: str, wrapped: str) -> bytes:
    """The data key sealed in ``wrapped``; a wrong master key fails loudly."""
    nonce, sealed = wrapped.split(":", 1)
    try:
        return _wrapping_key(settings).decrypt(
            _unb64(nonce), _unb64(sealed), f"privacy_key:{key_id}".encode()
        )
    except InvalidTag:
        raise PrivacyError(
            f"data key {key_id} does not open with this master key: "
            "CITYOS_PII_MASTER_KEY (or CITYOS_SECRET_KEY) differs from the one it was made with"
        ) from None


def _normal(kind: PiiKind, value: str) -> str:
    checks: dict[PiiKind, Callable[[str], str]] = {
        PiiKind.ID_NUMBER: validators.normalise_id_number,
        PiiKind.MOBILE: validators.normalise_mobile,
        PiiKind.PLATE: validators.normalise_plate,
        PiiKind.NAME: validators.normalise_person_name,
    }
    check = checks.get(kind)
    if check is not None:
        try:
            return check(value)
        except ValueError:
            pass
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


@dataclass(frozen=True)
class KeyRing:
    """The data keys one process can use: every known key decrypts, the active one encrypts."""

    keys: Mapping[str, bytes]
    active_id: str | None
    index_key: bytes

    def encrypt(self, plaintext: str, *, aad: str) -> str:
        """``plaintext`` sealed with the active key for the column named by ``aad``."""
        if self.active_id is None:
            raise PrivacyError("no active data key: run `cityos keys rotate` to create one")
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active_id]).encrypt(
            nonce, plaintext.encode("utf-8"), aad.encode("utf-8")
        )
        return f"{VERSION}:{self.active_id}:{_b64(nonce)}:{_b64(sealed)}"

    def decrypt(self, token: str, *, aad: str) -> str:
        """The plaintext of ``token``, which must have been sealed for ``aad``."""
        key_id = key_id_of(token)
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionFailed(f"cannot decrypt {aad}: data key {key_id!r} is unknown")
        _, _, nonce, sealed = token.split(":", 3)
        try:
            plain = AESGCM(key).decrypt(_unb64(nonce), _unb64(sealed), aad.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise DecryptionFailed(
                f"cannot decrypt {aad}: the value was altered or belongs to another column"
            ) from None
        return plain.decode("utf-8")

    def blind_index(self, kind: PiiKind | str, value: str) -> str:
        """The keyed hash of ``value``'s normal form, for exact lookups without decrypting."""
        kind = PiiKind(kind)
        message = f"{kind.value}\x1f{_normal(kind, value)}".encode()
        return hmac.new(self.index_key, message, sha256).hexdigest()


def key_id_of(token: str) -> str:
    """The key id a stored value was sealed with."""
    parts = token.split(":", 3)
    if len(parts) != 4 or parts[0] != VERSION:
        raise DecryptionFailed("not an encrypted value (expected v1:<key>:<nonce>:<data>)")
    return parts[1]


def _ring_of(rows: Sequence[tuple[str, str, str]], settings: Settings) -> KeyRing:
    keys = {key_id: unwrap_key(settings, key_id, wrapped) for key_id, _, wrapped in rows}
    active = [key_id for key_id, status, _ in rows if status == ACTIVE]
    return KeyRing(
        keys=keys, active_id=active[-1] if active else None, index_key=index_key(settings)
    )


def load_keyring(bind: Session | Connection, settings: Settings) -> KeyRing:
    """Every data key in the table, unwrapped; the newest active one encrypts."""
    rows = bind.execute(
        select(PrivacyKey.id, PrivacyKey.status, PrivacyKey.wrapped_key).order_by(
            PrivacyKey.created_at, PrivacyKey.id
        )
    ).all()
    return _ring_of([(row[0], row[1], row[2]) for row in rows], settings)


def _load_keyring_quietly(engine: Engine, settings: Settings) -> KeyRing:
    # Read on a bare driver connection: the engine's SQLite "begin" hook would take the
    # write lock, which the session that is flushing (and asked for the ring) already holds.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT id, status, wrapped_key FROM privacy_key ORDER BY created_at, id")
        rows = [(str(r[0]), str(r[1]), str(r[2])) for r in cursor.fetchall()]
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return _ring_of(rows, settings)


def create_key(session: Session, settings: Settings) -> PrivacyKey:
    """A new active data key; every other key is retired (kept for decrypting)."""
    now = utcnow()
    session.execute(
        update(PrivacyKey).where(PrivacyKey.status == ACTIVE).values(status=RETIRED, retired_at=now)
    )
    key_id = now.strftime("%Y%m%d") + secrets.token_hex(3)
    key = PrivacyKey(
        id=key_id,
        status=ACTIVE,
        wrapped_key=wrap_key(settings, key_id, AESGCM.generate_key(bit_length=256)),
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key


def ensure_active_key(session: Session, settings: Settings) -> str:
    """The active key's id, creating the first key on a new database."""
    active = session.scalar(
        select(PrivacyKey.id)
        .where(PrivacyKey.status == ACTIVE)
        .order_by(PrivacyKey.created_at.desc(), PrivacyKey.id.desc())
        .limit(1)
    )
    return active if active is not None else create_key(session, settings).id


class KeyRingProvider:
    """One process's cached key ring, reloaded every ``refresh_seconds`` and on unknown keys."""

    def __init__(
        self, bind: Engine | Connection, settings: Settings, *, refresh_seconds: float = 5.0
    ) -> None:
        self._bind = bind
        self._settings = settings
        self._refresh_seconds = refresh_seconds
        self._ring: KeyRing | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def ring(self) -> KeyRing:
        """The key ring, reloaded if it is older than ``refresh_seconds``."""
        ring = self._ring
        if ring is None or time.monotonic() - self._loaded_at > self._refresh_seconds:
            return self.refresh()
        return ring

    def refresh(self) -> KeyRing:
        """Reload the key table now."""
        with self._lock:
            if isinstance(self._bind, Connection):
                ring = load_keyring(self._bind, self._settings)
            else:
                ring = _load_keyring_quietly(self._bind, self._settings)
            self._ring, self._loaded_at = ring, time.monotonic()
            return ring

    def encrypt(self, plaintext: str, *, aad: str) -> str:
        return self.ring().encrypt(plaintext, aad=aad)

    def decrypt(self, token: str, *, aad: str) -> str:
        ring = self.ring()
        if key_id_of(token) not in ring.keys:
            ring = self.refresh()
        return ring.decrypt(token, aad=aad)

    def blind_index(self, kind: PiiKind | str, value: str) -> str:
        return self.ring().blind_index(kind, value)


_installed: KeyRingProvider | None = None


def install_keyring(provider: KeyRingProvider | None) -> None:
    """Make ``provider`` the process's key ring (``None`` uninstalls it)."""
    global _installed
    _installed = provider


def installed_keyring() -> KeyRingProvider:
    """The process's key ring provider, or a clear error when start-up did not install one."""
    if _installed is None:
        raise KeyRingNotInstalled(
            "personal-data encryption is not set up in this process: call "
            "cityos.foundation.privacy.install(runtime) at start-up"
        )
    return _installed


def blind_index(kind: PiiKind | str, value: str) -> str:
    """The keyed hash stored beside an encrypted value, for ``WHERE x_bidx = ...`` lookups."""
    return installed_keyring().blind_index(kind, value)


def install(runtime: Runtime) -> KeyRingProvider:
    """Set up this process's key ring (creating the first data key on a new database)."""
    with runtime.unit_of_work() as session:
        ensure_active_key(session, runtime.settings)
    provider = KeyRingProvider(runtime.engine, runtime.settings)
    provider.refresh()
    install_keyring(provider)
    return provider


def keyring_installed() -> bool:
    """Whether this process has a key ring (start-up installs one)."""
    return _installed is not None


def ensure_installed(runtime: Runtime) -> KeyRingProvider:
    """The installed key ring, set up from ``runtime`` if this process has none yet."""
    return _installed if _installed is not None else install(runtime)
