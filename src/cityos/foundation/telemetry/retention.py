"""How long telemetry is kept: raw observations for ``CITYOS_TELEMETRY_RAW_DAYS`` (400 by
default: a year and a month, enough to compare with last year's same month), minute
rollups for ``MINUTE_ROLLUP_DAYS``, hourly and daily rollups for good (a day of a device
is a few hundred bytes of them).

On PostgreSQL a month whose partition lies wholly before the cutoff is dropped at once,
which costs nothing however many rows it holds; the rest (the default partition, the
cutoff's own month, and SQLite) is deleted row by row in batches. A daily job does it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.models import Observation, Rollup
from cityos.kernel.clock import utcnow
from cityos.kernel.db import is_postgresql
from cityos.kernel.jobs import schedule
from cityos.settings import get_settings

RETENTION_JOB: Final = "telemetry.retention"
MINUTE_ROLLUP_DAYS: Final = 35
DAY: Final = 86400
DELETE_BATCH: Final = 50_000
_PARTITION = re.compile(r"^iot_observation_p(\d{4})(\d{2})$")


@dataclass(frozen=True)
class Purged:
    partitions_dropped: list[str]
    observations_deleted: int
    minute_rollups_deleted: int


def purge(session: Session, *, now: datetime, raw_days: int) -> Purged:
    """Drop what is older than the limits; see the module docstring. Never commits."""
    cutoff = now - timedelta(days=raw_days)
    dropped: list[str] = []
    if is_postgresql(session):
        names = session.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'iot_observation'"
            )
        ).all()
        for name in sorted(names):
            found = _PARTITION.match(name)
            if found is None:
                continue
            year, month = int(found[1]), int(found[2])
            ends = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
            if ends <= cutoff:
                # The name is checked against the pattern above: ours, never the caller's.
                session.execute(text(f'DROP TABLE "{name}"'))
                dropped.append(name)
    deleted = 0
    while True:
        ids = session.scalars(
            select(Observation.id).where(Observation.phenomenon_time < cutoff).limit(DELETE_BATCH)
        ).all()
        if not ids:
            break
        result = session.execute(
            delete(Observation).where(Observation.id.in_(ids), Observation.phenomenon_time < cutoff)
        )
        deleted += int(getattr(result, "rowcount", 0))
    minutes = session.execute(
        delete(Rollup).where(
            Rollup.bucket_seconds == 60,
            Rollup.bucket_start < now - timedelta(days=MINUTE_ROLLUP_DAYS),
        )
    )
    return Purged(dropped, deleted, int(getattr(minutes, "rowcount", 0)))


def retention_job(session: Session, payload: dict[str, Any]) -> None:
    """The daily ``telemetry.retention`` timer."""
    purge(session, now=utcnow(), raw_days=get_settings().telemetry_raw_days)


def ensure_retention_timer(session: Session) -> None:
    """Schedule the daily purge unless it is scheduled (runs after the caller commits)."""
    schedule(session, name=RETENTION_JOB, payload={}, dedupe_key=RETENTION_JOB, every=DAY)
