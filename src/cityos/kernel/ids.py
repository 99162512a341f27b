"""Identifiers: time-ordered UUIDv7, so new rows sort after old ones and cursors stay stable."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> uuid.UUID:
    """A new UUIDv7 (RFC 9562), ordered by creation time."""
    return uuid.UUID(int=uuid6.uuid7().int)
