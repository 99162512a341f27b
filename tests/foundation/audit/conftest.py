"""Helpers for audit tests: an empty trail per test, and an attacker with DBA rights."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from cityos.foundation.audit import AuditRecord, record, seal_all

TABLES = ("audit_record", "audit_checkpoint")


@contextmanager
def unguarded(session: Session) -> Iterator[None]:
    """Switch the append-only triggers off, as someone with DBA rights could, and back on."""
    if session.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        try:
            yield
        finally:
            for table in TABLES:
                session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        return
    triggers = session.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
            "('audit_record', 'audit_checkpoint')"
        )
    ).all()
    for name, _ in triggers:
        session.execute(text(f"DROP TRIGGER {name}"))
    try:
        yield
    finally:
        for _, sql in triggers:
            session.execute(text(sql))


@pytest.fixture
def trail(session: Session) -> Session:
    """The test's session over an empty audit trail (rows others committed are hidden by a
    delete that the test's rollback undoes)."""
    with unguarded(session):
        for table in TABLES:
            session.execute(text(f"DELETE FROM {table}"))
    return session


def write(
    session: Session, n: int, *, action: str = "case.dispatch", sealed: bool = True
) -> list[AuditRecord]:
    """``n`` records through the service, targets case-1 … case-n, sealed into the chain
    unless ``sealed`` is false."""
    written = [
        record(
            session,
            actor="user-7",
            action=action,
            target_type="case",
            target_id=f"case-{i}",
            outcome="success",
            details={"step": i, "to": "dept-3"},
        )
        for i in range(1, n + 1)
    ]
    if sealed:
        seal_all(session)
    return written
