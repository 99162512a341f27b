"""``EncryptedString``: a column type that seals personal data on write and opens it on read."""

from __future__ import annotations

from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from cityos.foundation.privacy.crypto import installed_keyring
from cityos.foundation.privacy.masking import PiiKind


class EncryptedString(TypeDecorator[str]):
    """Text encrypted with the process key ring; ``aad`` must be ``"<table>.<column>"``.

    The ciphertext differs on every write, so the column cannot be compared or indexed:
    store ``blind_index(kind, value)`` in a companion indexed column for exact lookups,
    and register the column (``register_encrypted_column``) so key rotation re-encrypts it.
    """

    impl = Text
    cache_ok = True

    def __init__(self, kind: PiiKind | str, *, aad: str) -> None:
        super().__init__()
        if aad.count(".") != 1:
            raise ValueError("aad must name the column as '<table>.<column>'")
        self.kind = PiiKind(kind)
        self.aad = aad

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else installed_keyring().encrypt(value, aad=self.aad)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else installed_keyring().decrypt(value, aad=self.aad)
