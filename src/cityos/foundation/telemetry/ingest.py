"""Observations in: one path for every door (SensorThings POST, HTTP batches, MQTT).

``ingest`` checks a batch against its streams, stores what is good in one multi-row
INSERT that skips what is already stored (at-least-once senders resend; the stream and the
phenomenon time identify an observation), keeps each stream's latest value and its
Thing's last-seen time, leaves per-minute sums for the rollups (``rollups.fold``), and
hands the new readings to the arrival hooks (the rule engine) in the same transaction.
What is bad is returned with a reason and counted on its device; nothing else in the
batch is lost.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    TextClause,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.models import (
    Datastream,
    MultiDatastream,
    Observation,
    RollupDelta,
    Thing,
)
from cityos.kernel.clock import utcnow
from cityos.kernel.db import is_postgresql

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
COUNT_OBSERVATION = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation"
TRUTH_OBSERVATION = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation"
NUMERIC_TYPES = frozenset({MEASUREMENT, COUNT_OBSERVATION})
# A clock a little ahead is a device's clock; far ahead is a fault.
MAX_FUTURE = timedelta(minutes=10)

# --- observation ids -----------------------------------------------------------------------

_NEXT_IDS = text("SELECT nextval('iot_observation_id_seq') FROM generate_series(1, :n)")


def observation_ids(session: Session, count: int) -> list[int]:
    """``count`` new observation ids, small enough for JavaScript clients (below 2**53):
    from a sequence on PostgreSQL, fetched in one round trip; on SQLite, after the largest
    stored, which is safe there because a writing transaction holds the database alone."""
    if count <= 0:
        return []
    if is_postgresql(session):
        return list(
            session.scalars(
                _NEXT_IDS,
                {"n": count},
            )
        )
    largest = session.scalar(select(func.max(Observation.id))) or 0
    return list(range(largest + 1, largest + 1 + count))


# --- the batch -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One observation as it arrives: for a Datastream (``datastream_id``) or a
    MultiDatastream (``multi_datastream_id``, the result a list in its property order)."""

    phenomenon_time: datetime
    result: Any
    datastream_id: int | None = None
    multi_datastream_id: int | None = None
    phenomenon_time_end: datetime | None = None
    result_time: datetime | None = None
    result_quality: Any = None
    valid_time_start: datetime | None = None
    valid_time_end: datetime | None = None
    parameters: dict[str, Any] | None = None
    feature_of_interest_id: int | None = None

    @property
    def stream_key(self) -> int:
        """The stream's key: a Datastream's id, or minus a MultiDatastream's."""
        if self.datastream_id is not None:
            return self.datastream_id
        return -int(self.multi_datastream_id or 0)


@dataclass(frozen=True)
class Rejection:
    """A reading refused, its place in the batch and a stable reason code."""

    index: int
    code: str
    message: str


@dataclass(frozen=True)
class Stored:
    """A reading stored for the first time, with what the rules need to know of it."""

    id: int
    reading: Reading
    thing_id: int
    number: float | None


@dataclass
class IngestReport:
    stored: list[Stored] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


ArrivalHook = Callable[[Session, Sequence[Stored]], None]
_hooks: list[ArrivalHook] = []


def register_arrival_hook(hook: ArrivalHook) -> None:
    """Run ``hook`` on each batch's newly stored readings, in the batch's transaction
    (the rule engine; later a model's anomaly check)."""
    if hook not in _hooks:
        _hooks.append(hook)


@dataclass(frozen=True)
class _Stream:
    key: int
    thing_id: int
    observation_type: str
    width: int  # 1 for a Datastream, the number of properties for a MultiDatastream


def _streams(session: Session, readings: Sequence[Reading]) -> dict[int, _Stream]:
    single = {r.datastream_id for r in readings if r.datastream_id is not None}
    multi = {r.multi_datastream_id for r in readings if r.multi_datastream_id is not None}
    found: dict[int, _Stream] = {}
    if single:
        for ds_id, thing_id, kind in session.execute(
            select(Datastream.id, Datastream.thing_id, Datastream.observation_type).where(
                Datastream.id.in_(single)
            )
        ):
            found[ds_id] = _Stream(ds_id, thing_id, kind, 1)
    if multi:
        for md_id, thing_id, types in session.execute(
            select(
                MultiDatastream.id,
                MultiDatastream.thing_id,
                MultiDatastream.multi_observation_data_types,
            ).where(MultiDatastream.id.in_(multi))
        ):
            found[-md_id] = _Stream(-md_id, thing_id, "multi", len(types))
    return found


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _check(reading: Reading, stream: _Stream | None, now: datetime) -> tuple[str, str] | None:
    if stream is None:
        return "unknown_stream", "no such Datastream or MultiDatastream"
    if reading.phenomenon_time.tzinfo is None:
        return "naive_time", "phenomenonTime needs a time zone (e.g. Z or +08:00)"
    if reading.phenomenon_time > now + MAX_FUTURE:
        return "time_in_future", "phenomenonTime is more than 10 minutes ahead of the server"
    if stream.observation_type in NUMERIC_TYPES and _number(reading.result) is None:
        return "not_numeric", "this Datastream takes numbers"
    if stream.observation_type == COUNT_OBSERVATION and not float(reading.result).is_integer():
        return "not_integer", "this Datastream counts: results are whole numbers"
    if stream.observation_type == TRUTH_OBSERVATION and not isinstance(reading.result, bool):
        return "not_boolean", "this Datastream takes true or false"
    if stream.observation_type == "multi" and not (
        isinstance(reading.result, list) and len(reading.result) == stream.width
    ):
        return "wrong_width", f"this MultiDatastream takes a list of {stream.width} results"
    return None


def ingest(session: Session, readings: Sequence[Reading]) -> IngestReport:
    """Store a batch; see the module docstring. Flushes, never commits."""
    report = IngestReport()
    if not readings:
        return report
    now = utcnow()
    streams = _streams(session, readings)
    good: list[tuple[Reading, _Stream]] = []
    bad_things: dict[int, tuple[int, str]] = {}
    for index, reading in enumerate(readings):
        stream = streams.get(reading.stream_key)
        fault = _check(reading, stream, now)
        if fault is None and stream is not None:
            good.append((reading, stream))
            continue
        code, message = fault or ("invalid", "invalid")
        report.rejected.append(Rejection(index, code, message))
        if stream is not None:
            count, _ = bad_things.get(stream.thing_id, (0, ""))
            bad_things[stream.thing_id] = (count + 1, f"{code}: {message}")
    # One copy of a reading resent within the batch itself.
    unique: dict[tuple[int, datetime], tuple[Reading, _Stream]] = {}
    for reading, stream in good:
        key = (stream.key, reading.phenomenon_time.astimezone(UTC))
        if key in unique:
            report.duplicates += 1
        unique[key] = (reading, stream)
    if unique:
        _store(session, list(unique.values()), report, now)
    for thing_id, (count, last_error) in bad_things.items():
        session.execute(
            update(Thing)
            .where(Thing.id == thing_id)
            .values(error_count=Thing.error_count + count, last_error=last_error[:500])
        )
    if report.stored:
        for hook in _hooks:
            hook(session, report.stored)
    return report


def _store(
    session: Session,
    batch: list[tuple[Reading, _Stream]],
    report: IngestReport,
    now: datetime,
) -> None:
    ids = observation_ids(session, len(batch))
    rows: list[dict[str, Any]] = []
    for new_id, (reading, stream) in zip(ids, batch, strict=True):
        number = _number(reading.result) if stream.observation_type != "multi" else None
        rows.append(
            {
                "id": new_id,
                "phenomenon_time": reading.phenomenon_time,
                "datastream_id": reading.datastream_id,
                "multi_datastream_id": reading.multi_datastream_id,
                "phenomenon_time_end": reading.phenomenon_time_end,
                "result_time": reading.result_time,
                "result_number": number,
                "result_json": None if number is not None else reading.result,
                "result_quality": reading.result_quality,
                "valid_time_start": reading.valid_time_start,
                "valid_time_end": reading.valid_time_end,
                "parameters": reading.parameters,
                "feature_of_interest_id": reading.feature_of_interest_id,
                "received_at": now,
            }
        )
    if is_postgresql(session):
        ensure_partitions(session, {r.phenomenon_time for r, _ in batch})
        inserted = _insert_pg(session, rows, now)
    else:
        statement = sqlite.insert(Observation).on_conflict_do_nothing().returning(Observation.id)
        inserted = set(session.scalars(statement, rows).all())
    report.duplicates += len(rows) - len(inserted)
    for row, (reading, stream) in zip(rows, batch, strict=True):
        if row["id"] in inserted:
            report.stored.append(Stored(row["id"], reading, stream.thing_id, row["result_number"]))
    if report.stored:
        _keep_latest(session, report.stored, now)
        _roll_up(session, report.stored)


# One statement whatever the batch's size: each column travels as one array parameter, so
# neither the SQL text nor the number of parameters grows with the batch (a multi-row
# VALUES of a few thousand rows costs more to build and parse than to insert). Only the
# columns a batch fills travel: turning a list into an array parameter is done value by
# value in Python, and most batches leave most of the optional columns empty.
_COLUMNS: dict[str, tuple[str, bool]] = {
    "id": ("bigint", False),
    "phenomenon_time": ("timestamptz", False),
    "datastream_id": ("bigint", False),
    "multi_datastream_id": ("bigint", False),
    "phenomenon_time_end": ("timestamptz", False),
    "result_time": ("timestamptz", False),
    "result_number": ("float8", False),
    "result_json": ("text", True),
    "result_quality": ("text", True),
    "valid_time_start": ("timestamptz", False),
    "valid_time_end": ("timestamptz", False),
    "parameters": ("text", True),
    "feature_of_interest_id": ("bigint", False),
}
_INSERTS: dict[tuple[str, ...], TextClause] = {}


def _insert_statement(columns: tuple[str, ...]) -> TextClause:
    """The INSERT for a batch filling ``columns`` (made once per set of columns)."""
    statement = _INSERTS.get(columns)
    if statement is None:
        names = ", ".join(columns)
        selects = ", ".join(f"u.{c}::json" if _COLUMNS[c][1] else f"u.{c}" for c in columns)
        arrays = ", ".join(f"CAST(:{c} AS {_COLUMNS[c][0]}[])" for c in columns)
        statement = _INSERTS[columns] = text(
            f"INSERT INTO iot_observation ({names}, received_at) "  # noqa: S608 - our names
            f"SELECT {selects}, CAST(:received_at AS timestamptz) "
            f"FROM unnest({arrays}) AS u({names}) "
            # No conflict target: the stream's partial unique index (datastream or multi).
            "ON CONFLICT DO NOTHING RETURNING id"
        )
    return statement


def _insert_pg(session: Session, rows: list[dict[str, Any]], now: datetime) -> set[int]:
    arrays: dict[str, Any] = {}
    for name, (_, js) in _COLUMNS.items():
        values = [row[name] for row in rows]
        if all(value is None for value in values):
            continue
        if js:
            values = [
                None if value is None else json.dumps(value, ensure_ascii=False) for value in values
            ]
        arrays[name] = values
    statement = _insert_statement(tuple(arrays))
    arrays["received_at"] = now
    return set(session.scalars(statement, arrays).all())


def _keep_latest(session: Session, stored: Sequence[Stored], now: datetime) -> None:
    """Each stream's newest value and the span of its phenomenon times on its row (the
    SensorThings ``phenomenonTime`` of a Datastream), and its Thing seen now and online."""
    newest: dict[int, Stored] = {}
    earliest: dict[int, datetime] = {}
    for item in stored:
        key, moment = item.reading.stream_key, item.reading.phenomenon_time
        if key not in newest or moment > newest[key].reading.phenomenon_time:
            newest[key] = item
        earliest[key] = min(earliest.get(key, moment), moment)
    for table, keys in (
        (Datastream, [k for k in newest if k > 0]),
        (MultiDatastream, [k for k in newest if k < 0]),
    ):
        if not keys:
            continue
        if is_postgresql(session):
            session.execute(
                _LATEST_PG[table.__tablename__],
                {
                    "id": [abs(key) for key in keys],
                    "moment": [newest[key].reading.phenomenon_time for key in keys],
                    "result": [
                        json.dumps(newest[key].reading.result, ensure_ascii=False) for key in keys
                    ],
                    "first": [earliest[key] for key in keys],
                },
            )
            continue
        at = bindparam("moment", type_=table.last_time.type)
        since = bindparam("first", type_=table.phenomenon_time_start.type)
        later = or_(table.last_time.is_(None), table.last_time < at)
        # SQLite: one executemany rather than a statement per stream.
        session.connection().execute(
            update(table)
            .where(table.id == bindparam("stream_id"))
            .values(
                last_time=case((later, at), else_=table.last_time),
                last_result=case(
                    (later, bindparam("result", type_=JSON())), else_=table.last_result
                ),
                phenomenon_time_start=case(
                    (
                        or_(
                            table.phenomenon_time_start.is_(None),
                            table.phenomenon_time_start > since,
                        ),
                        since,
                    ),
                    else_=table.phenomenon_time_start,
                ),
                phenomenon_time_end=case((later, at), else_=table.phenomenon_time_end),
            ),
            [
                {
                    "stream_id": abs(key),
                    "moment": newest[key].reading.phenomenon_time,
                    "result": newest[key].reading.result,
                    "first": earliest[key],
                }
                for key in keys
            ],
        )
    things = sorted({item.thing_id for item in stored})
    session.execute(
        update(Thing)
        .where(Thing.id.in_(things))
        .values(last_seen_at=now, status="online")
        .execution_options(synchronize_session=False)
    )


def _latest_pg(table: str) -> TextClause:
    """One UPDATE of every stream of a batch from arrays: its newest value and time unless a
    later one is stored, and the start of its phenomenon time span."""
    return text(
        f"UPDATE {table} AS s SET "  # noqa: S608 - our own table names
        "last_result = CASE WHEN s.last_time IS NULL OR s.last_time < u.moment "
        "THEN u.result::json ELSE s.last_result END, "
        "phenomenon_time_end = CASE WHEN s.last_time IS NULL OR s.last_time < u.moment "
        "THEN u.moment ELSE s.phenomenon_time_end END, "
        "last_time = GREATEST(s.last_time, u.moment), "
        "phenomenon_time_start = LEAST(s.phenomenon_time_start, u.first) "
        "FROM unnest(CAST(:id AS bigint[]), CAST(:moment AS timestamptz[]), "
        "CAST(:result AS text[]), CAST(:first AS timestamptz[])) AS u(id, moment, result, first) "
        "WHERE s.id = u.id"
    )


_LATEST_PG = {name: _latest_pg(name) for name in ("iot_datastream", "iot_multi_datastream")}


def bucket_start(moment: datetime, seconds: int) -> datetime:
    """The start of the ``seconds``-long UTC bucket holding ``moment``."""
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def _roll_up(session: Session, stored: Sequence[Stored]) -> None:
    """Append the batch's per-minute sums as deltas; ``rollups.fold`` carries them into
    every level of the rollups (an upsert of three levels here cost a fifth of a batch)."""
    sums: dict[tuple[int, datetime], list[float]] = {}
    for item in stored:
        if item.number is None or item.reading.datastream_id is None:
            continue
        key = (item.reading.datastream_id, bucket_start(item.reading.phenomenon_time, 60))
        acc = sums.get(key)
        if acc is None:
            sums[key] = [1, item.number, item.number, item.number]
        else:
            acc[0] += 1
            acc[1] += item.number
            acc[2] = min(acc[2], item.number)
            acc[3] = max(acc[3], item.number)
    if not sums:
        return
    if is_postgresql(session):
        session.execute(
            _DELTAS_PG,
            {
                "ds": [ds for ds, _ in sums],
                "start": [start for _, start in sums],
                "count": [int(acc[0]) for acc in sums.values()],
                "total": [acc[1] for acc in sums.values()],
                "minimum": [acc[2] for acc in sums.values()],
                "maximum": [acc[3] for acc in sums.values()],
            },
        )
        return
    session.execute(
        insert(RollupDelta),
        [
            {
                "datastream_id": ds,
                "bucket_start": start,
                "count": int(acc[0]),
                "total": acc[1],
                "minimum": acc[2],
                "maximum": acc[3],
            }
            for (ds, start), acc in sums.items()
        ],
    )


_DELTAS_PG = text(
    "INSERT INTO iot_rollup_delta (datastream_id, bucket_start, count, total, minimum, "
    "maximum) SELECT * FROM unnest(CAST(:ds AS bigint[]), CAST(:start AS timestamptz[]), "
    "CAST(:count AS bigint[]), CAST(:total AS float8[]), CAST(:minimum AS float8[]), "
    "CAST(:maximum AS float8[]))"
)


# --- PostgreSQL partitions -----------------------------------------------------------------

_partitions_made: set[tuple[str, str]] = set()
# pg_advisory_xact_lock(key, month) key for making a month's partition: "iotp" in ASCII.
PARTITION_LOCK_KEY = 0x696F7470


def _month(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def ensure_partitions(session: Session, moments: set[datetime] | frozenset[datetime]) -> None:
    """A monthly partition of ``iot_observation`` for each month among ``moments`` within
    a year of now (older and stranger times go to the default partition). Remembered per
    database in this process, so the catalogue is asked once per month."""
    database = str(session.get_bind().engine.url)
    now = utcnow()
    months = {
        _month(m) for m in moments if now - timedelta(days=366) <= m <= now + timedelta(days=62)
    }
    for start in sorted(months):
        name = f"iot_observation_p{start:%Y%m}"
        if (database, name) in _partitions_made:
            continue
        # Two processes meeting a new month at once: the second waits for the first's
        # commit here, then finds the partition made.
        session.execute(select(func.pg_advisory_xact_lock(PARTITION_LOCK_KEY, start.month)))
        exists = session.scalar(select(func.to_regclass(name)))
        if exists is None:
            # Rows of this month already in the default partition would block the new one;
            # none are there unless the month was older than a year when they came.
            session.execute(_partition_ddl(name, start, _next_month(start)))
        _partitions_made.add((database, name))


def _partition_ddl(name: str, start: datetime, end: datetime) -> TextClause:
    """The DDL of one month's partition (names and bounds are ours, never the caller's)."""
    return text(
        f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF iot_observation '
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
