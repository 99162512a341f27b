"""Writing, sealing, verifying, querying and exporting the audit trail.

Every sealed record commits to the one before it: ``hash`` is SHA-256 of the canonical JSON
of its fields and ``prev_hash``, the previous record's ``hash`` (64 zeros for the first).
Changing, removing, inserting or reordering a record therefore breaks the chain at that
record, and ``verify`` names the first break. Checkpoints (the hash at a ``seq``, written
every ``CHECKPOINT_EVERY`` records and by each ``verify``) catch what the chain alone
cannot: the newest records removed.

Writing is in two steps so that audited writes do not queue behind one another: ``record``
appends a *pending* row (no ``seq``, no hashes) in the caller's transaction, and ``seal``
chains the pending rows in ``(occurred_at, id)`` order under one lock. Each commit of a
session that recorded something seals on its way out (``before_commit``): on SQLite, where
writers are serialised anyway, always; on PostgreSQL only if the lock is free at that
moment, so a busy writer never waits for another's chain step: the holder seals what has
committed by then, and the ``audit.seal`` timer (every ``SEAL_EVERY`` seconds) catches the
rest. A pending row is as append-only as a sealed one (the database refuses any change
except setting its chain fields once); the window in which a DBA could alter it unnoticed
is the seconds until it is sealed, and ``verify`` reports how many rows are pending.

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
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Row,
    Select,
    Table,
    Uuid,
    bindparam,
    event,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from cityos.foundation.audit.models import AuditCheckpoint, AuditRecord
from cityos.kernel.clock import local, utcnow
from cityos.kernel.db import is_postgresql
from cityos.kernel.errors import ValidationFailed
from cityos.kernel.ids import new_id
from cityos.kernel.pagination import Page, paginate

T = TypeVar("T")

Outcome = Literal["success", "failure", "denied"]
FaultKind = Literal["changed", "deleted", "inserted", "reordered", "truncated", "rewritten"]

GENESIS_HASH = "0" * 64
CHECKPOINT_EVERY = 1000
VERIFY_BATCH = 5000
SEAL_BATCH = 1000
SEAL_JOB = "audit.seal"
SEAL_EVERY = 30
# pg_advisory_xact_lock key serialising the chain step across every process: "audit".
APPEND_LOCK_KEY = 0x6175646974
# session.info flag: this transaction recorded something, so its commit seals.
_PENDING = "cityos.audit.pending"
# The fields a record's hash covers, besides occurred_at (hashed as UTC text) and prev_hash.
_HASHED = (
    "seq",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "details",
    "ip",
    "request_id",
    "purpose",
)

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

    entry = AuditRecord(
        id=new_id(),
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
    )
    session.add(entry)
    session.info[_PENDING] = True
    return entry


def seal(session: Session, *, wait: bool = True, limit: int = SEAL_BATCH) -> int:
    """Chain up to ``limit`` pending records, oldest first, in the caller's transaction.

    Returns how many were sealed. On PostgreSQL the chain's lock is held until the caller
    commits; with ``wait=False`` a lock held by another transaction means 0 sealed now
    (that transaction, or a later one, seals them).
    """
    if is_postgresql(session):
        if wait:
            session.execute(select(func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
        elif not session.scalar(select(func.pg_try_advisory_xact_lock(APPEND_LOCK_KEY))):
            return 0
    session.flush()
    # The head rides along (read after the lock was taken, so it is the sealed head).
    newest = select(AuditRecord.seq, AuditRecord.hash).where(AuditRecord.seq.is_not(None))
    newest = newest.order_by(AuditRecord.seq.desc()).limit(1)
    pending = session.execute(
        select(
            *_CHAIN_COLUMNS,
            newest.with_only_columns(AuditRecord.seq).scalar_subquery().label("head_seq"),
            newest.with_only_columns(AuditRecord.hash).scalar_subquery().label("head_hash"),
        )
        .where(AuditRecord.hash.is_(None))
        .order_by(AuditRecord.occurred_at, AuditRecord.id)
        .limit(limit)
    ).all()
    if not pending:
        return 0
    seq, prev_hash = pending[0].head_seq or 0, pending[0].head_hash or GENESIS_HASH
    sealed: list[dict[str, Any]] = []
    for row in pending:
        seq += 1
        digest = _hash_of({**row._asdict(), "seq": seq, "prev_hash": prev_hash})
        sealed.append({"row_id": row.id, "seq": seq, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
        if seq % CHECKPOINT_EVERY == 0:
            session.add(AuditCheckpoint(seq=seq, hash=prev_hash))
    table = cast(Table, AuditRecord.__table__)
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), hash=bindparam("hash")),
        sealed,
    )
    # Records of this session that were just sealed read their chain fields afresh.
    for item in sealed:
        entry = session.identity_map.get(identity_key(AuditRecord, item["row_id"]))
        if entry is not None:
            session.expire(entry, ["seq", "prev_hash", "hash"])
    session.flush()
    return len(sealed)


def seal_all(session: Session) -> int:
    """Seal every pending record, in batches, waiting for the lock; returns how many."""
    total = 0
    while sealed := seal(session):
        total += sealed
    return total


def seal_job(session: Session, payload: dict[str, Any]) -> None:
    """The ``audit.seal`` timer: chains what the commits themselves left pending."""
    seal_all(session)


@event.listens_for(Session, "before_commit")
def _seal_on_commit(session: Session) -> None:
    """A session that recorded something seals on its way out (see the module docstring)."""
    if session.in_nested_transaction() or not session.info.pop(_PENDING, False):
        return
    seal(session, wait=False)


def record_hash(entry: AuditRecord | Row[Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a record's fields and ``prev_hash``."""
    return _hash_of({name: getattr(entry, name) for name in (*_HASHED, "occurred_at", "prev_hash")})


def _hash_of(fields: Mapping[str, Any]) -> str:
    occurred = fields["occurred_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    hashed = {name: fields[name] for name in _HASHED}
    hashed["occurred_at"] = occurred
    hashed["prev_hash"] = fields["prev_hash"]
    return hashlib.sha256(_canonical(hashed).encode("utf-8")).hexdigest()


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
    pending: int = 0

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
    """Walk the sealed chain in ``seq`` order and report its first fault, or its head.

    Reads in keyset batches of plain rows, so memory stays flat over millions of records.
    When the chain is sound and ``checkpoint`` is true, the head is written as a checkpoint
    in the caller's transaction. Records not sealed yet are counted in ``pending``; call
    ``seal_all`` first to verify them too.
    """
    pending = session.scalar(select(func.count()).where(AuditRecord.hash.is_(None))) or 0
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
            return VerifyReport(count, _seq(previous), _hash(previous), fault, pending=pending)
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
        return VerifyReport(count, head_seq, head_hash, fault, pending=pending)
    written = None
    if checkpoint and head_seq is not None and head_hash is not None and newest < head_seq:
        session.add(AuditCheckpoint(seq=head_seq, hash=head_hash))
        session.flush()
        written = head_seq
    return VerifyReport(count, head_seq, head_hash, None, written, pending)


def _chain(session: Session, batch_size: int) -> Iterator[Row[Any]]:
    """Every sealed record as a plain row in (seq, id) order; (seq, id) also pages past
    duplicates."""
    last: tuple[int, Any] | None = None
    while True:
        stmt = (
            select(*_CHAIN_COLUMNS)
            .where(AuditRecord.seq.is_not(None))
            .order_by(AuditRecord.seq, AuditRecord.id)
        )
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
    """The newest sealed record's ``(seq, hash)``, or ``None`` while none is sealed."""
    row = session.execute(
        select(AuditRecord.seq, AuditRecord.hash)
        .where(AuditRecord.seq.is_not(None))
        .order_by(AuditRecord.seq.desc())
        .limit(1)
    ).first()
    if row is None or row.seq is None or row.hash is None:
        return None
    return row.seq, row.hash


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
    """A page of matching records, newest first (pending ones included); ``since``
    inclusive, ``until`` exclusive."""
    stmt = _filtered(
        select(AuditRecord),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    return paginate(
        session,
        stmt,
        order_by=[AuditRecord.occurred_at.desc(), AuditRecord.id.desc()],
        cursor=cursor,
        limit=limit,
    )


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
    ).order_by(AuditRecord.occurred_at, AuditRecord.id)
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
    last: tuple[datetime, Any] | None = None
    while True:
        # Plain rows in keyset batches: nothing joins the caller's session, memory stays flat.
        batch_stmt = stmt
        if last is not None:
            after = tuple_(literal(last[0], AuditRecord.occurred_at.type), literal(last[1], Uuid()))
            batch_stmt = stmt.where(tuple_(AuditRecord.occurred_at, AuditRecord.id) > after)
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
        last = (batch[-1].occurred_at, batch[-1].id)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return written
