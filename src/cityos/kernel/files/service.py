"""The file store's logic: put content once per hash, look it up, open it.

An upload is streamed through a spool (memory up to 1 MiB, a temporary file beyond) while
it is hashed, so a file is never held whole in memory and is refused as soon as it passes
the size limit. The blob is written before its row: a committed row always has its blob,
and a blob whose transaction rolled back is simply found again by the next upload of it.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence, Set
from pathlib import PurePosixPath
from typing import IO, Any, BinaryIO

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityos.kernel.errors import NotFound, PayloadTooLarge, ValidationFailed
from cityos.kernel.files.models import StoredFile
from cityos.kernel.files.sniff import DEFAULT_ALLOWED_TYPES, HEAD_BYTES, check_allowed, sniff
from cityos.kernel.files.storage import BlobNotFound, Storage, check_sha256

log = logging.getLogger("cityos.files")

SPOOL_IN_MEMORY = 1024 * 1024
READ_CHUNK = 64 * 1024
MAX_FILENAME = 255


def put(
    session: Session,
    storage: Storage,
    *,
    stream: BinaryIO,
    filename: str,
    declared_type: str | None = None,
    allowed_types: Set[str] | None = None,
    max_bytes: int,
) -> StoredFile:
    """Store the content of ``stream`` once per SHA-256 and return its row.

    The type is sniffed from the bytes; ``declared_type`` (what the client said) must agree
    with them, and the sniffed type must be in ``allowed_types`` (``DEFAULT_ALLOWED_TYPES``
    when not given). More than ``max_bytes`` raises ``PayloadTooLarge`` and stores nothing.
    """
    allowed = DEFAULT_ALLOWED_TYPES if allowed_types is None else allowed_types
    name = clean_filename(filename)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        sha256, size, head = _spool(stream, spool, max_bytes=max_bytes)
        if size == 0:
            raise ValidationFailed("the file is empty", code="empty_file")
        sniffed = sniff(
            head,
            complete=size == len(head),
            source=spool,
            filename=name,
            declared_type=declared_type,
        )
        check_allowed(sniffed.content_type, allowed)
        if not storage.exists(sha256):
            spool.seek(0)
            storage.save(sha256, spool, content_type=sniffed.content_type)
    row = session.get(StoredFile, sha256)
    if row is not None:
        # The blob was written again above if the backend had lost it or was switched.
        row.backend = storage.name
        return row
    _insert_once(
        session,
        sha256=sha256,
        size=size,
        content_type=sniffed.content_type,
        charset=sniffed.charset,
        filename=name,
        backend=storage.name,
    )
    row = session.get(StoredFile, sha256)
    assert row is not None
    return row


def get(session: Session, sha256: str) -> StoredFile:
    """The row of a stored file; ``NotFound`` if there is none."""
    row = session.get(StoredFile, sha256) if _valid(sha256) else None
    if row is None:
        raise NotFound(f"no file with SHA-256 {sha256}")
    return row


def exists(storage: Storage, sha256: str) -> bool:
    """Whether the backend holds this blob."""
    return _valid(sha256) and storage.exists(sha256)


def open(storage: Storage, sha256: str) -> BinaryIO:
    """The blob for reading; the caller closes it. ``NotFound`` if the backend lacks it."""
    if not _valid(sha256):
        raise NotFound(f"no file with SHA-256 {sha256}")
    try:
        return storage.open(sha256)
    except BlobNotFound as exc:
        log.error("blob %s is missing from the %s file store", sha256, storage.name)
        raise NotFound(f"the content of file {sha256} is missing from storage") from exc


def clean_filename(filename: str) -> str:
    """The name part of what a client called its file: no folders, no control characters.

    Only ever a label (the blob is stored under its hash), but it ends up in headers and on
    screens, so path parts, control and bidi-override characters go, and it is kept to 255.
    """
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if name in {"", ".", ".."}:
        return "file"
    if len(name) > MAX_FILENAME:
        suffix = PurePosixPath(name).suffix
        suffix = suffix if len(suffix) <= 16 else ""
        name = name[: MAX_FILENAME - len(suffix)] + suffix
    return name


def _spool(stream: BinaryIO, spool: IO[bytes], *, max_bytes: int) -> tuple[str, int, bytes]:
    """Copy ``stream`` into ``spool`` while hashing; returns (sha256, size, first bytes)."""
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(
                f"the file is larger than the limit of {max_bytes} bytes", max_bytes=max_bytes
            )
        digest.update(chunk)
        spool.write(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
    return digest.hexdigest(), size, bytes(head)


def _insert_once(session: Session, **values: Any) -> None:
    """Insert the row unless a concurrent upload of the same content already did.

    ``ON CONFLICT DO NOTHING`` rather than catching the duplicate in a savepoint: it waits
    for the other transaction and needs no savepoint, which pysqlite does not nest safely.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(StoredFile)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[StoredFile.sha256])
    )
    session.execute(statement)


def _valid(sha256: str) -> bool:
    try:
        check_sha256(sha256)
    except ValueError:
        return False
    return True


PHOTO_KINDS = frozenset({"photo", "photo_before", "photo_after"})


def checked_attachments(
    session: Session, attachments: Sequence[Mapping[str, Any]], *, field: str = "attachments"
) -> list[dict[str, Any]]:
    """Attachments as stored: each names its kind and a file already uploaded to the file
    store (``POST /api/v1/files``) by its SHA-256; a photo must be an image."""
    kept: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for index, item in enumerate(attachments):
        where = f"{field}[{index}]"
        kind, sha256 = item.get("kind"), item.get("sha256")
        row = session.get(StoredFile, str(sha256).lower()) if isinstance(sha256, str) else None
        if not isinstance(kind, str) or not kind:
            errors.append({"field": f"{where}.kind", "message": "required", "type": "missing"})
        elif row is None:
            errors.append(
                {"field": f"{where}.sha256", "message": "no such uploaded file", "type": "file"}
            )
        elif kind in PHOTO_KINDS and not row.content_type.startswith("image/"):
            errors.append({"field": f"{where}.sha256", "message": "not an image", "type": "image"})
        else:
            kept.append(
                {
                    "kind": kind,
                    "sha256": row.sha256,
                    "content_type": row.content_type,
                    "size": row.size,
                    "filename": row.filename,
                }
            )
    if errors:
        raise ValidationFailed(
            "an attachment is not a stored file of the right type",
            code="attachment_invalid",
            errors=errors,
        )
    return kept
