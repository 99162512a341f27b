"""Personal-data protection (个人信息保护): validation, masking by role, audited reveal,
field encryption with rotating keys, blind-index lookups and log redaction.

Start-up calls ``install(runtime)`` once per process, before any encrypted column is read
or written. A module with personal data declares, for each field::

    phone: Mapped[str | None] = mapped_column(EncryptedString("mobile", aad="person.phone"))
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    ...
    register_encrypted_column(Person.__table__, "id", "phone")

sets ``phone_bidx = blind_index("mobile", phone)`` whenever it sets ``phone``, and finds
rows with ``where(Person.phone_bidx == blind_index("mobile", text))``.
"""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.privacy.cli import cli as keys_cli
from cityos.foundation.privacy.crypto import (
    DecryptionFailed,
    KeyRing,
    KeyRingNotInstalled,
    KeyRingProvider,
    PrivacyError,
    blind_index,
    ensure_active_key,
    ensure_installed,
    install,
    install_keyring,
    installed_keyring,
    keyring_installed,
)
from cityos.foundation.privacy.masking import (
    DEFAULT_POLICY,
    PiiKind,
    PiiPolicy,
    PurposeRequired,
    RevealHook,
    Visibility,
    mask,
    present,
    reveal,
)
from cityos.foundation.privacy.models import PrivacyKey
from cityos.foundation.privacy.redaction import PiiRedactingFilter, redact
from cityos.foundation.privacy.rotation import (
    EncryptedColumn,
    KeyUsage,
    RotationReport,
    encrypted_columns,
    key_usage,
    reencrypt,
    register_encrypted_column,
    rotate,
)
from cityos.foundation.privacy.types import EncryptedString
from cityos.foundation.privacy.validators import (
    IdNumber,
    Mobile,
    PersonName,
    Plate,
    normalise_id_number,
    normalise_mobile,
    normalise_person_name,
    normalise_plate,
)
from cityos.kernel.registry import Module

module = Module(
    name="privacy",
    models=("cityos.foundation.privacy.models",),
    migrations=Path(__file__).parent / "migrations",
    cli=keys_cli,
    cli_name="keys",
)

__all__ = [
    "DEFAULT_POLICY",
    "DecryptionFailed",
    "EncryptedColumn",
    "EncryptedString",
    "IdNumber",
    "KeyRing",
    "KeyRingNotInstalled",
    "KeyRingProvider",
    "KeyUsage",
    "Mobile",
    "PersonName",
    "PiiKind",
    "PiiPolicy",
    "PiiRedactingFilter",
    "Plate",
    "PrivacyError",
    "PrivacyKey",
    "PurposeRequired",
    "RevealHook",
    "RotationReport",
    "Visibility",
    "blind_index",
    "encrypted_columns",
    "ensure_active_key",
    "ensure_installed",
    "install",
    "install_keyring",
    "installed_keyring",
    "key_usage",
    "keyring_installed",
    "mask",
    "normalise_id_number",
    "normalise_mobile",
    "normalise_person_name",
    "normalise_plate",
    "present",
    "redact",
    "reencrypt",
    "register_encrypted_column",
    "reveal",
    "rotate",
]
