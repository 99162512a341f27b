"""Writing, verifying, querying and exporting the audit trail.

Every record commits to the one before it: ``hash`` is SHA-256 of the canonical JSON of its
fields and ``prev_hash``, the previous record's ``hash`` (64 zeros for the first). Changing,
removing, inserting or reordering a record therefore breaks the chain at that record, and
``verify`` names the first break. Checkpoints (the hash at a ``seq``, written every
``CHECKPOINT_EVERY`` records and by each ``verify``) catch what the chain alone cannot: the
newest records removed.

What stays possible, and how it is met: someone with write access to the database who
rewrites the records *and* recomputes every later hash *and* rewrites the checkpoints leaves
a consistent chain; so does one who appends forged records at the head. The head hash that
``verify`` prints is the answer: operators keep it outside the database (a log, a ticket, a
signed mail), and a later head whose chain does not pass through it shows the rewrite.

``details`` carries ids, never personal data: pass ``{"user_id": ...}``, not a name or a
phone number. ``record`` refuses values that look like a Chinese ID number or a mainland
mobile number, as a safety net, not as the protection itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import BigInteger, Row, Select, Uuid, literal, select, text, tuple_
from sqlalchemy.orm import Session

from cityos.foundation.audit.models import AuditCheckpoint, AuditRecord
from cityos.kernel.clock import local, utcnow
from cityos.kernel.db import is_postgresql
from cityos.kernel.errors import ValidationFailed
from cityos.kernel.pagination import Page, paginate

T = TypeVar("T")

Outcome = Literal["success", "failure", "denied"]
FaultKind = Literal["changed", "deleted", "inserted", "reordered", "truncated", "rewritten"]

GENESIS_HASH = "0" * 64
CHECKPOINT_EVERY = 1000
VERIFY_BATCH = 5000
# pg_advisory_xact_lock key serialising appends across every process: "audit" in ASCII.
APPEND_LOCK_KEY = 0x6175646974

_OUTCOMES = frozenset(("success", "failure", "denied"))
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# Bounded by non-alphanumerics, so hex ids (UUIDs, hashes) with a run of digits do not match.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")


class PersonalDataInAudit(ValidationFailed):
    """An audit record's details hold what looks like personal data in plain text."""

    code = "audit_personal_data"


class InvalidAuditRecord(ValidationFailed):
    """An audit record is malformed (unknown outcome, badly named action, non-JSON details)."""

    code = "audit_invalid_record"


# --- writing -------------------------------------------------------------------------------


def record(
    session: Session,
    *,
    actor: str | None,
    action: str,
    target_type: str,
    target_id: str | None,
    outcome: Outcome,
    details: Mapping[str, Any],
    ip: str | None = None,
    request_id: str | None = None,
    purpose: str | None = None,
) -> AuditRecord:
    """Append one record to the chain, in the caller's transaction (never commits).

    ``action`` is a dotted name (``auth.sign_in``, ``pii.reveal``, ``case.dispatch``);
    ``details`` is JSON of ids and codes, never personal data (``PersonalDataInAudit``).
    """
    if outcome not in _OUTCOMES:
        raise InvalidAuditRecord(f"outcome must be success, failure or denied, not {outcome!r}")
    if not _ACTION.match(action):
        raise InvalidAuditRecord(f"action {action!r} is not a dotted lower-case name")
    try:
        # A JSON round trip makes what is hashed now exactly what is read back later.
        plain: dict[str, Any] = json.loads(_canonical(dict(details)))
    except (TypeError, ValueError) as exc:
        raise InvalidAuditRecord(f"details must be plain JSON: {exc}") from exc
    _refuse_personal_data(plain, "details")
    if purpose is not None:
        _refuse_personal_data(purpose, "purpose")

    if is_postgresql(session):
        # Held until commit or rollback: the next appender reads the head only after ours.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    # On SQLite every transaction began with BEGIN IMMEDIATE: one writer, no fork possible.
    session.flush()
    head = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    entry = AuditRecord(
        seq=seq,
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        details=plain,
        ip=ip,
        request_id=request_id,
        purpose=purpose,
        prev_hash=prev_hash,
    )
    entry.hash = record_hash(entry)
    session.add(entry)
    if seq % CHECKPOINT_EVERY == 0:
        session.add(AuditCheckpoint(seq=seq, hash=entry.hash))
    session.flush()
    return entry


def record_hash(entry: AuditRecord | Row[Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a record's fields and ``prev_hash``."""
    occurred = entry.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = {
        "seq": entry.seq,
        "occurred_at": occurred,
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "outcome": entry.outcome,
        "details": entry.details,
        "ip": entry.ip,
        "request_id": entry.request_id,
        "purpose": entry.purpose,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(_canonical(fields).encode("utf-8")).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _refuse_personal_data(value: Any, path: str) -> None:
    """Raise if ``value`` (walked recursively, keys included) looks like an ID or a mobile."""
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_personal_data(key, f"{path} key")
            _refuse_personal_data(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_personal_data(item, f"{path}[{index}]")
    elif isinstance(value, str | int) and not isinstance(value, bool):
        found = "an ID number" if _ID_NUMBER.search(str(value)) else None
        if found is None and _MOBILE.search(str(value)):
            found = "a mobile number"
        if found:
            # The value itself is left out of the message: it may be the personal data.
            raise PersonalDataInAudit(
                f"{path} looks like {found}; audit details carry ids, never personal data",
                errors=[{"field": path, "message": f"looks like {found}"}],
            )


# --- verifying -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """The first place where the trail is not what was written."""

    kind: FaultKind
    seq: int
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` found: the records walked, the head, and the first fault if any."""

    count: int
    head_seq: int | None
    head_hash: str | None
    fault: Fault | None = None
    checkpoint_seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None


_CHAIN_COLUMNS = (
    AuditRecord.seq,
    AuditRecord.id,
    AuditRecord.occurred_at,
    AuditRecord.actor,
    AuditRecord.action,
    AuditRecord.target_type,
    AuditRecord.target_id,
    AuditRecord.outcome,
    AuditRecord.details,
    AuditRecord.ip,
    AuditRecord.request_id,
    AuditRecord.purpose,
    AuditRecord.prev_hash,
    AuditRecord.hash,
)


def verify(
    session: Session, *, checkpoint: bool = True, batch_size: int = VERIFY_BATCH
) -> VerifyReport:
    """Walk the chain in ``seq`` order and report its first fault, or its head.

    Reads in keyset batches of plain rows, so memory stays flat over millions of records.
    When the chain is sound and ``checkpoint`` is true, the head is written as a checkpoint
    in the caller's transaction.
    """
    stored = session.execute(select(AuditCheckpoint.seq, AuditCheckpoint.hash))
    checkpoints: dict[int, str] = {row.seq: row.hash for row in stored}
    rows = _chain(session, batch_size)
    before_previous: Row[Any] | None = None
    previous: Row[Any] | None = None
    current = next(rows, None)
    count = 0
    while current is not None:
        following = next(rows, None)
        fault = _check(current, previous, before_previous, following)
        if fault is None and checkpoints.get(current.seq, current.hash) != current.hash:
            fault = Fault(
                "rewritten",
                current.seq,
                f"the chain at seq {current.seq} differs from its checkpoint: the records up "
                "to it were rewritten with recomputed hashes",
            )
        if fault is not None:
            return VerifyReport(count, _seq(previous), _hash(previous), fault)
        count += 1
        before_previous, previous, current = previous, current, following
    head_seq, head_hash = _seq(previous), _hash(previous)
    newest = max(checkpoints, default=0)
    if newest > (head_seq or 0):
        fault = Fault(
            "truncated",
            (head_seq or 0) + 1,
            f"a checkpoint recorded seq {newest} but the chain ends at seq {head_seq or 0}: "
            "the newest records were removed",
        )
        return VerifyReport(count, head_seq, head_hash, fault)
    written = None
    if checkpoint and head_seq is not None and head_hash is not None and newest < head_seq:
        session.add(AuditCheckpoint(seq=head_seq, hash=head_hash))
        session.flush()
        written = head_seq
    return VerifyReport(count, head_seq, head_hash, None, written)


def _chain(session: Session, batch_size: int) -> Iterator[Row[Any]]:
    """Every record as a plain row in (seq, id) order; (seq, id) also pages past duplicates."""
    last: tuple[int, Any] | None = None
    while True:
        stmt = select(*_CHAIN_COLUMNS).order_by(AuditRecord.seq, AuditRecord.id)
        if last is not None:
            after = tuple_(literal(last[0], BigInteger()), literal(last[1], Uuid()))
            stmt = stmt.where(tuple_(AuditRecord.seq, AuditRecord.id) > after)
        batch = session.execute(stmt.limit(batch_size)).all()
        yield from batch
        if len(batch) < batch_size:
            return
        last = (batch[-1].seq, batch[-1].id)


def _check(
    current: Row[Any],
    previous: Row[Any] | None,
    before_previous: Row[Any] | None,
    following: Row[Any] | None,
) -> Fault | None:
    """The fault at ``current``, judged from its neighbours; ``None`` if it links soundly."""
    seq = current.seq
    expected_seq = previous.seq + 1 if previous is not None else 1
    expected_prev = previous.hash if previous is not None else GENESIS_HASH
    if previous is not None and seq == previous.seq:
        return Fault("inserted", seq, f"seq {seq} appears twice: a record was inserted")
    if seq > expected_seq:
        missing = (
            f"seq {expected_seq}" if seq == expected_seq + 1 else f"seq {expected_seq}–{seq - 1}"
        )
        return Fault("deleted", expected_seq, f"{missing} missing: the chain jumps to seq {seq}")
    if current.prev_hash != expected_prev:
        if before_previous is not None and current.prev_hash == before_previous.hash:
            return Fault(
                "inserted",
                expected_seq - 1,
                f"seq {seq} links to seq {before_previous.seq}: the record at seq "
                f"{expected_seq - 1} was inserted",
            )
        if following is not None and current.prev_hash == following.hash:
            return Fault(
                "reordered",
                seq,
                f"seq {seq} links to the record after it: records were reordered",
            )
        if record_hash(current) == current.hash and previous is not None:
            return Fault(
                "changed",
                previous.seq,
                f"seq {seq} does not link to seq {previous.seq}: that record was rewritten "
                "with a recomputed hash",
            )
        return Fault(
            "deleted",
            seq,
            f"seq {seq} does not link to the record before it: a record was removed there "
            "and the later ones renumbered",
        )
    if record_hash(current) != current.hash:
        return Fault("changed", seq, f"seq {seq} does not match its hash: the record was changed")
    return None


def _seq(row: Row[Any] | None) -> int | None:
    return None if row is None else int(row.seq)


def _hash(row: Row[Any] | None) -> str | None:
    return None if row is None else str(row.hash)


def head(session: Session) -> tuple[int, str] | None:
    """The newest record's ``(seq, hash)``, or ``None`` while the trail is empty."""
    row = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


# --- reading -------------------------------------------------------------------------------


def _filtered(
    stmt: Select[T],
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[T]:
    """``stmt`` narrowed to the filters; ``action`` ending in "." matches every action under it."""
    if actor is not None:
        stmt = stmt.where(AuditRecord.actor == actor)
    if action is not None:
        if action.endswith("."):
            stmt = stmt.where(AuditRecord.action.startswith(action, autoescape=True))
        else:
            stmt = stmt.where(AuditRecord.action == action)
    if target_type is not None:
        stmt = stmt.where(AuditRecord.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(AuditRecord.target_id == target_id)
    for bound in (since, until):
        if bound is not None and bound.tzinfo is None:
            raise ValidationFailed("since and until must carry a time zone")
    if since is not None:
        stmt = stmt.where(AuditRecord.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditRecord.occurred_at < until)
    return stmt


def query(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[AuditRecord]:
    """A page of matching records, newest first; ``since`` inclusive, ``until`` exclusive."""
    stmt = _filtered(
        select(AuditRecord),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    return paginate(session, stmt, order_by=[AuditRecord.seq.desc()], cursor=cursor, limit=limit)


EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("序号", "Seq"),
    ("时间（北京时间）", "Time (Asia/Shanghai)"),
    ("操作人", "Actor"),
    ("操作", "Action"),
    ("对象类型", "Target type"),
    ("对象编号", "Target ID"),
    ("结果", "Outcome"),
    ("详情", "Details"),
    ("IP 地址", "IP address"),
    ("请求编号", "Request ID"),
    ("目的", "Purpose"),
    ("前一记录哈希", "Previous hash"),
    ("哈希", "Hash"),
)
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def export_xlsx(
    session: Session,
    path: Path,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_size: int = 1000,
) -> int:
    """Write the matching records, oldest first, to an Excel file; return how many.

    Streams: keyset batches of ``batch_size`` rows into openpyxl's write-only workbook. Two header
    rows, Chinese then English; times in Asia/Shanghai.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    stmt = _filtered(
        select(*_CHAIN_COLUMNS),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    ).order_by(AuditRecord.seq)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("审计日志 Audit trail")
    sheet.freeze_panes = "A3"
    sheet.append([zh for zh, _ in EXPORT_COLUMNS])
    sheet.append([en for _, en in EXPORT_COLUMNS])

    def cell(value: Any, number_format: str | None = None) -> Any:
        written = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            # Text stays text: a value starting with "=" must never become a formula.
            written.value = _ILLEGAL_XML.sub("", value)
            written.data_type = "s"
        if number_format:
            written.number_format = number_format
        return written

    written = 0
    last_seq: int | None = None
    while True:
        # Plain rows in keyset batches: nothing joins the caller's session, memory stays flat.
        batch_stmt = stmt if last_seq is None else stmt.where(AuditRecord.seq > last_seq)
        batch = session.execute(batch_stmt.limit(batch_size)).all()
        for entry in batch:
            sheet.append(
                [
                    cell(entry.seq),
                    cell(local(entry.occurred_at).replace(tzinfo=None), "yyyy-mm-dd hh:mm:ss"),
                    cell(entry.actor),
                    cell(entry.action),
                    cell(entry.target_type),
                    cell(entry.target_id),
                    cell(entry.outcome),
                    cell(_canonical(entry.details)),
                    cell(entry.ip),
                    cell(entry.request_id),
                    cell(entry.purpose),
                    cell(entry.prev_hash),
                    cell(entry.hash),
                ]
            )
        written += len(batch)
        if len(batch) < batch_size:
            break
        last_seq = batch[-1].seq
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return written
