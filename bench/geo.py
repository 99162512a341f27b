"""Geo engine figures next to the issue's limits and the same machine's own references.

- **point → grid** (``RegionIndex.locate_many`` over the Luohu grids, random points in the
  district's bounding box): points/s in one process and split over two, against the
  200,000/s target; beside it, measured on the same arrays, numpy's rate for a trivial
  vectorised operation (``x * 2 + y``) and shapely's rate for only building the points
  (in the slices the lookup uses), which the lookup must do too.
- **loading the Luohu geography** (regions, 20,000+ addresses, layers), validation
  included, against the 10 s limit of a first ``make run``.
- **nearest-k** (k = 10) on a layer of ``--features`` points: p50/p95 per query against
  the 10 ms limit (set for PostgreSQL), beside the p95 of ``SELECT 1`` on the same session:
  the floor of any query.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.orm import Session

from cityos.foundation import geo
from cityos.foundation.geo.index import LOCATE_SLICE, spatial_backend
from cityos.kernel import migrate, profiles
from cityos.kernel.clock import utcnow
from cityos.kernel.db import UtcDateTime, make_engine, make_sessionmaker
from cityos.kernel.registry import Registry, get_registry
from cityos.settings import Settings

PG_ADMIN = os.environ.get(
    "CITYOS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TARGET_POINTS_PER_S = 200_000
LOAD_LIMIT_S = 10.0
NEAREST_LIMIT_MS = 10.0
BOX = (114.0, 22.45, 114.3, 22.70)  # a little more than Luohu's extent

_index: geo.RegionIndex | None = None


def _locate_chunk(chunk: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]) -> int:
    assert _index is not None
    return int((_index.locate_many(*chunk) >= 0).sum())


def rate(work: Any, n: int, repeat: int = 3) -> float:
    """Items per second of the best of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return n / best


def bench_locate(index: geo.RegionIndex, n: int) -> None:
    global _index
    _index = index
    rng = np.random.default_rng(1)
    district = index.levels["district"].geometries[0]
    west, south, east, north = district.bounds
    lons = rng.uniform(west, east, n)
    lats = rng.uniform(south, north, n)
    inside = float((index.locate_many(lons, lats) >= 0).mean())
    one = rate(lambda: index.locate_many(lons, lats), n)
    halves = list(zip(np.array_split(lons, 2), np.array_split(lats, 2), strict=True))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_locate_chunk, halves)  # warm both workers
        two = rate(lambda: pool.map(_locate_chunk, halves), n)
    numpy_rate = rate(lambda: lons * 2 + lats, n)

    def points_only() -> None:
        for start in range(0, n, LOCATE_SLICE):
            shapely.points(lons[start : start + LOCATE_SLICE], lats[start : start + LOCATE_SLICE])

    points_rate = rate(points_only, n)
    grids = len(index.grid_codes)
    print(f"point → grid, {n:,} points ({inside:.0%} inside), {grids} grids, {os.cpu_count()} CPUs")
    print(f"  locate_many, 1 process   {one:14,.0f} points/s   target {TARGET_POINTS_PER_S:,}/s")
    print(f"  locate_many, 2 processes {two:14,.0f} points/s   target {TARGET_POINTS_PER_S:,}/s")
    print(f"  reference: numpy x*2+y   {numpy_rate:14,.0f} points/s")
    print(f"  reference: shapely.points{points_rate:14,.0f} points/s (same slices)")


def add_points_layer(session: Session, n: int) -> None:
    """A layer of ``n`` random points, written by the database itself (fast to build)."""
    session.add(
        geo.Layer(
            id="bench",
            title_zh="基准",
            title_en="Bench",
            geometry_type="Point",
            synthetic=True,
            source="bench",
        )
    )
    session.flush()
    west, south, east, north = BOX
    if session.get_bind().dialect.name == "postgresql":
        statement = """
            INSERT INTO geo_feature (id, layer_id, key, properties, geometry, lon, lat,
                min_lon, min_lat, max_lon, max_lat, created_at, updated_at)
            SELECT gen_random_uuid(), 'bench', 'b' || i, '{}'::json,
                json_build_object('type', 'Point', 'coordinates', json_build_array(x, y)),
                x, y, x, y, x, y, :now, :now
            FROM (SELECT i, :w + random() * (:e - :w) AS x, :s + random() * (:n - :s) AS y
                  FROM generate_series(1, :count) AS i) AS p"""
    else:
        # The random values are drawn in the recursive CTE, which keeps them per row: in a
        # subquery SQLite would draw again for each column that names them.
        statement = """
            WITH RECURSIVE seq(i, x, y) AS (
                SELECT 0, 0.0, 0.0
                UNION ALL
                SELECT i + 1,
                    :w + (abs(random()) % 1000000000) / 1e9 * (:e - :w),
                    :s + (abs(random()) % 1000000000) / 1e9 * (:n - :s)
                FROM seq WHERE i < :count)
            INSERT INTO geo_feature (id, layer_id, key, properties, geometry, lon, lat,
                min_lon, min_lat, max_lon, max_lat, created_at, updated_at)
            SELECT lower(hex(randomblob(16))), 'bench', 'b' || i, '{}',
                json_object('type', 'Point', 'coordinates', json_array(x, y)),
                x, y, x, y, x, y, :now, :now
            FROM seq WHERE i > 0"""
    session.execute(
        text(statement).bindparams(bindparam("now", type_=UtcDateTime())),
        {"now": utcnow(), "count": n, "w": west, "e": east, "s": south, "n": north},
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE geo_feature"))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def bench_nearest(session: Session, backend: str, features: int, queries: int) -> None:
    started = time.perf_counter()
    add_points_layer(session, features)
    built = time.perf_counter() - started
    rng = np.random.default_rng(2)
    west, south, east, north = BOX
    points = list(
        zip(
            rng.uniform(west, east, queries).tolist(),
            rng.uniform(south, north, queries).tolist(),
            strict=True,
        )
    )
    for lon, lat in points[:20]:
        geo.nearest_features(session, layer_id="bench", lon=lon, lat=lat, k=10)
    times = []
    for lon, lat in points:
        started = time.perf_counter()
        found = geo.nearest_features(session, layer_id="bench", lon=lon, lat=lat, k=10)
        times.append((time.perf_counter() - started) * 1000)
        assert len(found) == 10
    floor = []
    for _ in range(queries):
        started = time.perf_counter()
        session.execute(text("SELECT 1")).scalar()
        floor.append((time.perf_counter() - started) * 1000)
    p50, p95 = percentiles(times)
    _, floor95 = percentiles(floor)
    index = spatial_backend(session)
    print(
        f"{backend:<10} nearest-10 on {features:,} points ({index}; layer built in {built:.0f} s)"
    )
    limit = f"limit {NEAREST_LIMIT_MS:.0f} ms (PostgreSQL)"
    print(f"{backend:<10}   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   {limit}")
    print(f"{backend:<10}   reference: SELECT 1 p95 {floor95:.2f} ms")


def measure(backend: str, url: str, args: argparse.Namespace, locate_done: list[bool]) -> None:
    registry = get_registry()
    registry.import_models()
    engine = make_engine(url)
    migrate.upgrade(engine, registry)
    sessions = make_sessionmaker(engine)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    geo_only = Registry((registry.by_name("geo"),))
    with sessions() as session:
        started = time.perf_counter()
        result = profiles.load(
            session, root=profiles.resolve("luohu"), registry=geo_only, settings=settings
        )
        elapsed = time.perf_counter() - started
        session.commit()
        summary = ", ".join(f"{v:,} {k}" for k, v in result.summary.items())
        limit = f"limit {LOAD_LIMIT_S:.0f} s"
        print(f"{backend:<10} load Luohu geography  {elapsed:5.2f} s   {limit}   ({summary})")
        if not locate_done:
            bench_locate(geo.region_index(session), args.points)
            locate_done.append(True)
        bench_nearest(session, backend, args.features, args.queries)
        session.rollback()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    locate_done: list[bool] = []
    for backend in args.databases.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                measure("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args, locate_done)
        elif backend == "postgresql":
            name = f"cityos_bench_geo_{os.getpid()}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                measure("postgresql", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args, locate_done)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        else:
            sys.exit(f"unknown database {backend!r}")


if __name__ == "__main__":
    main()
