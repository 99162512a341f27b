"""Key rotation: a new data key, then every registered encrypted column re-encrypted to it.

Runs alongside the platform: the old key is retired, not removed, so readers open values
sealed with either key while the rotation is half-way; each batch commits on its own, so
no lock is held for long. A row changed by someone else between read and write is left as
they wrote it (the update checks the old ciphertext) and picked up by the next pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, Text, func, literal, select, type_coerce, update
from sqlalchemy.orm import Session

from cityos.foundation.privacy.crypto import (
    DecryptionFailed,
    KeyRing,
    create_key,
    load_keyring,
)
from cityos.foundation.privacy.models import PrivacyKey
from cityos.foundation.privacy.types import EncryptedString
from cityos.settings import Settings

UnitOfWork = Callable[[], AbstractContextManager[Session]]
ProgressHook = Callable[["EncryptedColumn", int, int], None]


@dataclass(frozen=True)
class EncryptedColumn:
    """A column of ``EncryptedString`` that rotation must re-encrypt."""

    table: Table
    pk_column: str
    column: str

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column}"

    def raw(self) -> Any:
        """The column as stored text, bypassing decryption."""
        return type_coerce(self.table.c[self.column], Text())


_registered: dict[str, EncryptedColumn] = {}


def register_encrypted_column(table: Table, pk_column: str, column: str) -> EncryptedColumn:
    """Declare ``table.column`` (keyed by ``pk_column``) for key rotation and status."""
    kind = table.c[column].type
    if not isinstance(kind, EncryptedString) or kind.aad != f"{table.name}.{column}":
        raise ValueError(
            f"{table.name}.{column} must be EncryptedString(aad='{table.name}.{column}')"
        )
    declared = EncryptedColumn(table=table, pk_column=pk_column, column=column)
    _registered[declared.name] = declared
    return declared


def unregister_encrypted_column(table: Table, column: str) -> None:
    """Forget a registration (tests that drop their tables)."""
    _registered.pop(f"{table.name}.{column}", None)


def encrypted_columns() -> list[EncryptedColumn]:
    """Every registered encrypted column, by name."""
    return [_registered[name] for name in sorted(_registered)]


@dataclass
class Batch:
    """What one batch did: the last key seen, rows rewritten, and rows that failed."""

    last_pk: Any
    rows: int
    rewritten: int
    failed: list[str] = field(default_factory=list)


def reencrypt_batch(
    session: Session, ring: KeyRing, target: EncryptedColumn, *, after: Any, size: int
) -> Batch:
    """Re-encrypt up to ``size`` values not on the active key, with keys after ``after``."""
    pk = target.table.c[target.pk_column]
    raw = target.raw()
    query = select(pk, raw).where(raw.is_not(None), raw.not_like(f"v1:{ring.active_id}:%"))
    if after is not None:
        query = query.where(pk > after)
    rows = session.execute(query.order_by(pk).limit(size)).all()
    batch = Batch(last_pk=rows[-1][0] if rows else after, rows=len(rows), rewritten=0)
    for key, token in rows:
        try:
            fresh = ring.encrypt(ring.decrypt(token, aad=target.name), aad=target.name)
        except DecryptionFailed as exc:
            batch.failed.append(f"{target.name} {key}: {exc}")
            continue
        result = session.connection().execute(
            update(target.table)
            .where(pk == key, raw == token)
            .values({target.column: literal(fresh, Text())})
        )
        batch.rewritten += result.rowcount
    return batch


@dataclass
class RotationReport:
    """The outcome of a rotation or re-encryption."""

    key_id: str | None
    rewritten: int = 0
    failed: list[str] = field(default_factory=list)


def _pending(session: Session, ring: KeyRing, target: EncryptedColumn) -> int:
    raw = target.raw()
    query = select(func.count()).where(raw.is_not(None), raw.not_like(f"v1:{ring.active_id}:%"))
    return session.scalar(query.select_from(target.table)) or 0


def reencrypt(
    unit_of_work: UnitOfWork,
    settings: Settings,
    *,
    columns: Sequence[EncryptedColumn] | None = None,
    batch_size: int = 500,
    progress: ProgressHook | None = None,
    max_passes: int = 3,
) -> RotationReport:
    """Bring every value onto the active key, one committed batch at a time.

    Passes repeat while rows remain (values written meanwhile by a process whose key ring
    was not yet refreshed), up to ``max_passes``; values that fail to decrypt are reported.
    """
    targets = list(columns if columns is not None else encrypted_columns())
    with unit_of_work() as session:
        ring = load_keyring(session, settings)
    report = RotationReport(key_id=ring.active_id)
    for target in targets:
        for _ in range(max_passes):
            with unit_of_work() as session:
                total = _pending(session, ring, target)
            if total == 0:
                break
            done, after, failed = 0, None, []
            while True:
                with unit_of_work() as session:
                    batch = reencrypt_batch(session, ring, target, after=after, size=batch_size)
                done, after = done + batch.rows, batch.last_pk
                report.rewritten += batch.rewritten
                failed.extend(batch.failed)
                if progress is not None:
                    progress(target, min(done, total), total)
                if batch.rows < batch_size:
                    break
            if failed:
                # Values that do not decrypt stay pending: another pass cannot fix them.
                report.failed.extend(failed)
                break
    return report


def rotate(
    unit_of_work: UnitOfWork,
    settings: Settings,
    *,
    batch_size: int = 500,
    progress: ProgressHook | None = None,
) -> RotationReport:
    """Create a new active key (the old one retired, still decrypting) and re-encrypt to it."""
    with unit_of_work() as session:
        create_key(session, settings)
    return reencrypt(unit_of_work, settings, batch_size=batch_size, progress=progress)


@dataclass(frozen=True)
class KeyUsage:
    """One data key and how many stored values each registered column seals with it."""

    id: str
    status: str
    created_at: str
    values: int


def key_usage(session: Session) -> list[KeyUsage]:
    """Every data key, newest first, with the number of values that use it."""
    keys = session.scalars(
        select(PrivacyKey).order_by(PrivacyKey.created_at.desc(), PrivacyKey.id.desc())
    ).all()
    usage: list[KeyUsage] = []
    for key in keys:
        count = 0
        for target in encrypted_columns():
            raw = target.raw()
            count += (
                session.scalar(
                    select(func.count()).select_from(target.table).where(raw.like(f"v1:{key.id}:%"))
                )
                or 0
            )
        usage.append(KeyUsage(key.id, key.status, key.created_at.isoformat(), count))
    return usage
