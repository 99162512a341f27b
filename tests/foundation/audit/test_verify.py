"""Verifying the chain: each kind of tampering is found, named, and placed at the right seq.

The attacker here has DBA rights: the append-only triggers are switched off first.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cityos.foundation.audit import AuditCheckpoint, AuditRecord, record_hash, verify
from cityos.kernel.clock import utcnow
from tests.foundation.audit.conftest import unguarded, write


def _by_seq(session: Session, seq: int) -> AuditRecord:
    session.expire_all()
    return session.scalars(select(AuditRecord).where(AuditRecord.seq == seq)).one()


def _forged(session: Session, *, seq: int, prev_hash: str) -> AuditRecord:
    """A record with a correct hash of its own, as an attacker who read the code would make."""
    forged = AuditRecord(
        seq=seq,
        occurred_at=utcnow(),
        actor="intruder",
        action="case.close",
        target_type="case",
        target_id="case-x",
        outcome="success",
        details={},
        prev_hash=prev_hash,
    )
    forged.hash = record_hash(forged)
    return forged


def _shift(session: Session, *, from_seq: int, by: int) -> None:
    """Renumber records from ``from_seq`` on, in two steps so the unique index never clashes."""
    session.execute(text("UPDATE audit_record SET seq = -seq WHERE seq >= :s"), {"s": from_seq})
    session.execute(text("UPDATE audit_record SET seq = -seq + :by WHERE seq < 0"), {"by": by})


def test_a_sound_chain_reports_its_head_and_keeps_a_checkpoint(trail: Session) -> None:
    entries = write(trail, 5)
    report = verify(trail)
    assert report.ok
    assert (report.count, report.head_seq, report.head_hash) == (5, 5, entries[-1].hash)
    assert report.checkpoint_seq == 5
    assert trail.get(AuditCheckpoint, 5) is not None
    assert verify(trail).checkpoint_seq is None


def test_an_empty_trail_is_sound(trail: Session) -> None:
    report = verify(trail)
    assert report.ok
    assert report.count == 0
    assert report.head_hash is None


def test_a_changed_record_is_named(trail: Session) -> None:
    write(trail, 5)
    with unguarded(trail):
        trail.execute(text("UPDATE audit_record SET actor = 'user-8' WHERE seq = 3"))
    report = verify(trail)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("changed", 3)
    assert report.count == 2


def test_a_changed_record_with_a_recomputed_hash_is_named(trail: Session) -> None:
    write(trail, 5)
    with unguarded(trail):
        trail.execute(text("UPDATE audit_record SET outcome = 'denied' WHERE seq = 3"))
        rewritten = _by_seq(trail, 3)
        trail.execute(
            text("UPDATE audit_record SET hash = :h WHERE seq = 3"), {"h": record_hash(rewritten)}
        )
    report = verify(trail)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("changed", 3)


def test_a_deleted_record_is_named(trail: Session) -> None:
    write(trail, 5)
    with unguarded(trail):
        trail.execute(text("DELETE FROM audit_record WHERE seq = 3"))
    report = verify(trail)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("deleted", 3)


def test_a_deleted_record_hidden_by_renumbering_is_named(trail: Session) -> None:
    write(trail, 5)
    with unguarded(trail):
        trail.execute(text("DELETE FROM audit_record WHERE seq = 3"))
        _shift(trail, from_seq=4, by=-1)
    report = verify(trail)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("deleted", 3)


def test_the_first_record_deleted_is_named(trail: Session) -> None:
    write(trail, 3)
    with unguarded(trail):
        trail.execute(text("DELETE FROM audit_record WHERE seq = 1"))
    report = verify(trail)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("deleted", 1)


def test_an_inserted_record_with_a_duplicated_seq_is_named(trail: Session) -> None:
    entries = write(trail, 5)
    with unguarded(trail):
        trail.execute(text("DROP INDEX ix_audit_record_seq"))
        trail.add(_forged(trail, seq=3, prev_hash=entries[1].hash))
        trail.flush()
        report = verify(trail)
        trail.execute(text("DELETE FROM audit_record WHERE actor = 'intruder'"))
        trail.execute(text("CREATE UNIQUE INDEX ix_audit_record_seq ON audit_record (seq)"))
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("inserted", 3)


def test_an_inserted_record_with_renumbering_is_named(trail: Session) -> None:
    entries = write(trail, 5)
    with unguarded(trail):
        _shift(trail, from_seq=3, by=1)
        trail.add(_forged(trail, seq=3, prev_hash=entries[1].hash))
        trail.flush()
    report = verify(trail)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("inserted", 3)


def test_reordered_records_are_named(trail: Session) -> None:
    write(trail, 5)
    with unguarded(trail):
        trail.execute(text("UPDATE audit_record SET seq = -1 WHERE seq = 3"))
        trail.execute(text("UPDATE audit_record SET seq = 3 WHERE seq = 4"))
        trail.execute(text("UPDATE audit_record SET seq = 4 WHERE seq = -1"))
    report = verify(trail)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("reordered", 3)


def test_the_newest_records_removed_are_found_by_the_checkpoint(trail: Session) -> None:
    write(trail, 5)
    assert verify(trail).ok
    with unguarded(trail):
        trail.execute(text("DELETE FROM audit_record WHERE seq >= 4"))
    report = verify(trail)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("truncated", 4)
    assert report.head_seq == 3


def test_a_rewritten_head_is_found_by_the_checkpoint(trail: Session) -> None:
    write(trail, 5)
    assert verify(trail).ok
    with unguarded(trail):
        trail.execute(text("UPDATE audit_record SET target_id = 'case-99' WHERE seq = 5"))
        trail.execute(
            text("UPDATE audit_record SET hash = :h WHERE seq = 5"),
            {"h": record_hash(_by_seq(trail, 5))},
        )
    report = verify(trail)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("rewritten", 5)


def test_faults_are_found_across_batch_boundaries(trail: Session) -> None:
    write(trail, 9)
    assert verify(trail, batch_size=2, checkpoint=False).count == 9
    with unguarded(trail):
        trail.execute(text("UPDATE audit_record SET seq = -1 WHERE seq = 6"))
        trail.execute(text("UPDATE audit_record SET seq = 6 WHERE seq = 7"))
        trail.execute(text("UPDATE audit_record SET seq = 7 WHERE seq = -1"))
    report = verify(trail, batch_size=2)
    assert report.fault is not None
    assert (report.fault.kind, report.fault.seq) == ("reordered", 6)
