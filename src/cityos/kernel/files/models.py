"""The ``stored_file`` table: one row per distinct content, keyed by its SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base


class StoredFile(Base):
    """A blob in the file store, described by what its bytes are, not by what it was called.

    ``filename`` is the name it was first uploaded under: the same content uploaded again
    under another name is the same row, so a module that cares about its own name for an
    attachment keeps that name on its own row next to the hash.
    """

    __tablename__ = "stored_file"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    charset: Mapped[str | None] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    backend: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
