"""Folding the ingest path's per-minute deltas into the rollups of every level.

Each ingest batch appends what it adds to each Datastream's minute (``RollupDelta``); the
``telemetry.rollup`` timer, every ``FOLD_EVERY`` seconds, takes the deltas oldest first,
sums them per 1-minute, 1-hour and 1-day bucket (UTC) and merges the sums into ``Rollup``
with one upsert, deleting the deltas it took in the same transaction. Sums, counts,
minima and maxima merge in any order, so a delta is counted once whichever worker folds
it; on PostgreSQL the deltas are claimed with ``SKIP LOCKED``, so two folding workers take
different ones. Charts therefore lag arrivals by the timer's period at most, and ingest
pays one plain insert instead of an upsert of three levels.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.ingest import bucket_start
from cityos.foundation.telemetry.models import Rollup, RollupDelta
from cityos.kernel.db import is_postgresql

ROLLUP_BUCKETS: Final = (60, 3600, 86400)
ROLLUP_JOB: Final = "telemetry.rollup"
FOLD_EVERY: Final = 10
FOLD_BATCH: Final = 50_000
FOLD_BUDGET: Final = 5.0

_FOLD_PG = text(
    "WITH taken AS (DELETE FROM iot_rollup_delta WHERE id IN ("
    "SELECT id FROM iot_rollup_delta ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED) "
    "RETURNING datastream_id, bucket_start, count, total, minimum, maximum), "
    "levels AS (SELECT t.datastream_id, s.seconds, "
    "to_timestamp(floor(extract(epoch FROM t.bucket_start) / s.seconds) * s.seconds) "
    "AS bucket_start, t.count, t.total, t.minimum, t.maximum "
    "FROM taken t CROSS JOIN (VALUES (60), (3600), (86400)) AS s(seconds)), "
    "merged AS (INSERT INTO iot_rollup (datastream_id, bucket_seconds, bucket_start, count, total, "
    "minimum, maximum) SELECT datastream_id, seconds, bucket_start, sum(count), sum(total), "
    "min(minimum), max(maximum) FROM levels GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
    "ON CONFLICT (datastream_id, bucket_seconds, bucket_start) DO UPDATE SET "
    "count = iot_rollup.count + excluded.count, total = iot_rollup.total + excluded.total, "
    "minimum = least(iot_rollup.minimum, excluded.minimum), "
    "maximum = greatest(iot_rollup.maximum, excluded.maximum)) "
    "SELECT count(*) FROM taken"
)


def fold(session: Session, *, limit: int = FOLD_BATCH) -> int:
    """Fold up to ``limit`` deltas into the rollups; returns how many it folded."""
    if is_postgresql(session):
        return int(session.execute(_FOLD_PG, {"limit": limit}).scalar_one())
    # SQLite: one writer holds the database, so reading, merging and deleting cannot race.
    taken = session.execute(
        select(
            RollupDelta.id,
            RollupDelta.datastream_id,
            RollupDelta.bucket_start,
            RollupDelta.count,
            RollupDelta.total,
            RollupDelta.minimum,
            RollupDelta.maximum,
        )
        .order_by(RollupDelta.id)
        .limit(limit)
    ).all()
    if not taken:
        return 0
    sums: dict[tuple[int, int, datetime], list[Any]] = defaultdict(list)
    for row in taken:
        for seconds in ROLLUP_BUCKETS:
            acc = sums[(row.datastream_id, seconds, bucket_start(row.bucket_start, seconds))]
            if not acc:
                acc.extend((row.count, row.total, row.minimum, row.maximum))
            else:
                acc[0] += row.count
                acc[1] += row.total
                acc[2] = min(acc[2], row.minimum)
                acc[3] = max(acc[3], row.maximum)
    statement = sqlite.insert(Rollup)
    excluded = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["datastream_id", "bucket_seconds", "bucket_start"],
            set_={
                "count": Rollup.count + excluded.count,
                "total": Rollup.total + excluded.total,
                "minimum": func.min(Rollup.minimum, excluded.minimum),
                "maximum": func.max(Rollup.maximum, excluded.maximum),
            },
        ),
        [
            {
                "datastream_id": ds,
                "bucket_seconds": seconds,
                "bucket_start": start,
                "count": acc[0],
                "total": acc[1],
                "minimum": acc[2],
                "maximum": acc[3],
            }
            for (ds, seconds, start), acc in sorted(sums.items())
        ],
    )
    session.execute(delete(RollupDelta).where(RollupDelta.id <= taken[-1].id))
    return len(taken)


def fold_all(session: Session, *, budget: float | None = None) -> int:
    """Fold deltas in batches until none is left (or ``budget`` seconds have passed);
    returns how many were folded."""
    started = time.monotonic()
    total = 0
    while folded := fold(session):
        total += folded
        if folded < FOLD_BATCH or (budget is not None and time.monotonic() - started > budget):
            break
    return total


def rollup_job(session: Session, payload: dict[str, Any]) -> None:
    """The ``telemetry.rollup`` timer: what is there, for at most ``FOLD_BUDGET`` seconds;
    a larger backlog (a backfill) is worked through over the next runs."""
    fold_all(session, budget=FOLD_BUDGET)
