"""Appends from several connections at once never fork the chain, and their commits seal it
(a commit that finds the chain's lock taken leaves its record to the holder or the timer)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, select, text

from cityos.foundation.audit import AuditRecord, head, record, seal_all, verify
from cityos.kernel.db import make_sessionmaker
from cityos.kernel.uow import unit_of_work
from tests.foundation.audit.conftest import unguarded

WRITERS = 4
EACH = 200


def test_concurrent_writers_keep_one_chain(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        start = (head(session) or (0, ""))[0]

    def append(writer: int) -> None:
        for i in range(EACH):
            with unit_of_work(sessions) as session:
                record(
                    session,
                    actor=f"writer-{writer}",
                    action="case.dispatch",
                    target_type="case",
                    target_id=f"case-{i}",
                    outcome="success",
                    details={"i": i},
                )

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(append, range(WRITERS)))
        with unit_of_work(sessions) as session:
            left = verify(session, checkpoint=False).pending
            seal_all(session)
            report = verify(session, checkpoint=False)
            seqs = session.scalars(
                select(AuditRecord.seq).where(AuditRecord.seq > start).order_by(AuditRecord.seq)
            ).all()
        assert report.ok, report.fault
        assert left < WRITERS * EACH / 2, "the commits themselves should seal most records"
        assert report.pending == 0
        assert seqs == list(range(start + 1, start + 1 + WRITERS * EACH))
    finally:
        with unit_of_work(sessions) as session, unguarded(session):
            session.execute(text("DELETE FROM audit_record WHERE seq > :s"), {"s": start})
            session.execute(text("DELETE FROM audit_checkpoint WHERE seq > :s"), {"s": start})
