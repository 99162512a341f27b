"""Where ``ingest()`` spends its time with the Luohu profile's devices and rules.

A fresh PostgreSQL database with the Luohu profile, an hour of the simulator's readings
for every synthetic device, stored in batches of 1,000 under cProfile; prints the rate
(slowed by the profiler; compare runs with each other, not with bench/ingest.py) and the
functions that took the most time, rules included.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from cityos.foundation.telemetry.ingest import Reading, ingest
from cityos.foundation.telemetry.simulate import readings_between, streams
from cityos.kernel import migrate, profiles
from cityos.kernel.db import make_engine, make_sessionmaker
from cityos.kernel.registry import get_registry
from cityos.settings import Settings

PG_ADMIN = os.environ.get(
    "CITYOS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BATCH = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours to store")
    parser.add_argument("--top", type=int, default=30, help="functions to list")
    args = parser.parse_args()
    name = f"cityos_profile_ingest_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        registry = get_registry()
        registry.import_models()
        engine = make_engine(url)
        migrate.upgrade(engine, registry)
        sessions = make_sessionmaker(engine)
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        with sessions() as session:
            profiles.load(
                session, root=profiles.resolve("luohu"), registry=registry, settings=settings
            )
            session.commit()
            found = streams(session)
        by_code = {(s.device_code, s.property_code): s.datastream_id for s in found}
        end = datetime.now(UTC) - timedelta(hours=1)
        payload = readings_between(found, end - timedelta(hours=args.hours), end)
        readings = [
            Reading(
                phenomenon_time=datetime.fromisoformat(str(item["time"])),
                result=item["value"],
                datastream_id=by_code[(code, str(item["property"]))],
            )
            for code, items in payload.items()
            for item in items
        ]
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for start in range(0, len(readings), BATCH):
            with sessions() as session:
                ingest(session, readings[start : start + BATCH])
                session.commit()
        profiler.disable()
        elapsed = time.perf_counter() - started
        print(
            f"{len(readings):,} readings of {len(found):,} streams in batches of {BATCH}: "
            f"{len(readings) / elapsed:,.0f} readings/s under the profiler"
        )
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
