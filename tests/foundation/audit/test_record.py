"""Writing the trail: each record commits to the one before it, and no personal data enters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cityos.foundation.audit import (
    GENESIS_HASH,
    AuditCheckpoint,
    AuditRecord,
    InvalidAuditRecord,
    PersonalDataInAudit,
    record,
    record_hash,
    seal,
    service,
    verify,
)
from tests.foundation.audit.conftest import write


def test_records_chain_from_the_genesis_hash(trail: Session) -> None:
    first, second = write(trail, 2)
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.hash == record_hash(first)
    assert len(first.hash) == 64


def test_the_hash_survives_the_round_trip_through_the_database(trail: Session) -> None:
    entry = record(
        trail,
        actor=None,
        action="auth.sign_in_failed",
        target_type="user",
        target_id=None,
        outcome="failure",
        details={"reason": "密码错误", "attempt": 3, "nested": {"b": [1, 2.5, None], "a": True}},
        ip="10.0.0.1",
        request_id="req-1",
    )
    seal(trail)
    trail.expire_all()
    stored = trail.scalars(select(AuditRecord).where(AuditRecord.id == entry.id)).one()
    assert stored.occurred_at.tzinfo is not None
    assert record_hash(stored) == stored.hash


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"phone": "13812345678"}, "details.phone"),
        ({"note": "电话13912345678请回电"}, "details.note"),
        ({"who": {"ids": ["x", "11010519491231002X"]}}, "details.who.ids[1]"),
        ({"mobile": 15012345678}, "details.mobile"),
        ({"13812345678": "x"}, "details key"),
    ],
)
def test_personal_data_in_details_is_refused(
    trail: Session, details: dict[str, Any], field: str
) -> None:
    with pytest.raises(PersonalDataInAudit) as caught:
        record(
            trail,
            actor="user-7",
            action="pii.reveal",
            target_type="user",
            target_id="u-1",
            outcome="success",
            details=details,
        )
    assert caught.value.errors[0]["field"] == field
    assert "1381234" not in caught.value.detail
    assert "110105" not in caught.value.detail


def test_ids_that_merely_contain_digits_pass_the_guard(trail: Session) -> None:
    entry = record(
        trail,
        actor="user-7",
        action="pii.reveal",
        target_type="user",
        target_id="u-1",
        outcome="success",
        details={"user_id": "0190a4c2-6f1e-7a3b-8c2d-a13812345678", "sha": "b" + "1" * 63},
        purpose="核实 case-42 的申请人",
    )
    seal(trail)
    assert entry.seq == 1


def test_a_purpose_holding_a_phone_number_is_refused(trail: Session) -> None:
    with pytest.raises(PersonalDataInAudit):
        record(
            trail,
            actor="user-7",
            action="pii.reveal",
            target_type="user",
            target_id="u-1",
            outcome="success",
            details={},
            purpose="call back 13812345678",
        )


@pytest.mark.parametrize(
    ("action", "outcome", "details"),
    [
        ("signin", "success", {}),
        ("auth.sign_in", "maybe", {}),
        ("auth.sign_in", "success", {"at": datetime.now(UTC)}),
        ("auth.sign_in", "success", {"ratio": float("nan")}),
    ],
)
def test_malformed_records_are_refused(
    trail: Session, action: str, outcome: Any, details: dict[str, Any]
) -> None:
    with pytest.raises(InvalidAuditRecord):
        record(
            trail,
            actor="user-7",
            action=action,
            target_type="user",
            target_id="u-1",
            outcome=outcome,
            details=details,
        )


def test_a_checkpoint_is_kept_every_so_many_records(
    trail: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CHECKPOINT_EVERY", 3)
    entries = write(trail, 7)
    checkpoints = trail.execute(
        select(AuditCheckpoint.seq, AuditCheckpoint.hash).order_by(AuditCheckpoint.seq)
    ).all()
    assert [tuple(c) for c in checkpoints] == [(3, entries[2].hash), (6, entries[5].hash)]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_record SET actor = 'someone-else'",
        "DELETE FROM audit_record",
        "UPDATE audit_checkpoint SET hash = 'x'",
        "DELETE FROM audit_checkpoint",
    ],
)
def test_the_database_refuses_to_change_or_remove_audit_rows(
    trail: Session, statement: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CHECKPOINT_EVERY", 1)
    write(trail, 2)
    with pytest.raises(DBAPIError, match="append-only"), trail.begin_nested():
        trail.execute(text(statement))
    assert trail.scalar(text("SELECT count(*) FROM audit_record")) == 2
    assert trail.scalar(text("SELECT count(*) FROM audit_checkpoint")) == 2


def test_a_record_waits_pending_until_its_commit_seals_it(trail: Session) -> None:
    (earlier,) = write(trail, 1)
    entry = record(
        trail,
        actor="user-7",
        action="case.sign",
        target_type="case",
        target_id="case-9",
        outcome="success",
        details={},
    )
    trail.flush()
    assert (entry.seq, entry.prev_hash, entry.hash) == (None, None, None)
    assert verify(trail, checkpoint=False).pending == 1
    trail.commit()
    assert (entry.seq, entry.prev_hash) == (2, earlier.hash)
    assert entry.hash == record_hash(entry)
    assert verify(trail, checkpoint=False).pending == 0


@pytest.mark.parametrize(
    "change",
    [
        "actor = 'someone-else'",
        "actor = 'someone-else', seq = 1, prev_hash = :h, hash = :h",
        "details = '{}', seq = 1, prev_hash = :h, hash = :h",
        "seq = 1",
    ],
)
def test_a_pending_record_takes_its_seal_and_no_other_change(trail: Session, change: str) -> None:
    write(trail, 1, sealed=False)
    with pytest.raises(DBAPIError, match="append-only"), trail.begin_nested():
        trail.execute(text(f"UPDATE audit_record SET {change}"), {"h": "a" * 64})
    assert seal(trail) == 1
    with pytest.raises(DBAPIError, match="append-only"), trail.begin_nested():
        trail.execute(text("UPDATE audit_record SET hash = :h"), {"h": "b" * 64})
    assert verify(trail, checkpoint=False).ok
