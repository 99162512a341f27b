"""The data-key table: each key wrapped by the master key (envelope encryption)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base


class PrivacyKey(Base):
    """A data key for personal-data columns. Never deleted: retired keys still decrypt.

    ``wrapped_key`` is the 256-bit data key sealed with AES-GCM under the master key derived
    from the settings; the database alone cannot decrypt anything.
    """

    __tablename__ = "privacy_key"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    wrapped_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
