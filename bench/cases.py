"""Cases at scale on PostgreSQL, next to the issue's limits.

A fresh database, migrated, with the Luohu profile and ``--cases`` synthetic cases made by
the demo history generator (``cityos.domains.cases.demo``), then ANALYZE, then:

- **list**: ``GET /api/v1/cases`` as a district-wide dispatcher calls it (the route function
  itself, so the statement, the reach clause, keyset paging and the response rows are the
  real ones), filtered by subdistrict, status, category prefix and a month; the first page
  and the page after it; p50/p95 against 100 ms;
- **evaluation**: a month's evaluation of every department (``evaluation.evaluate``),
  median and max of 20 runs against 1 s;
- **transitions**: cases taken through register → dispatch → sign → resolve → verify_pass
  → call_back with ``cases.service.act`` by two worker processes, against 500/s: one
  transaction a step (a person at the workbench), then in bulk (50 cases a transaction,
  a savepoint each, as the inbox's bulk action takes them); beside them, the rate of
  single-row committed inserts by two processes on the same database, the ceiling for
  anything that commits once a step.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cityos.domains.cases.api import list_cases
from cityos.domains.cases.demo import generate_history
from cityos.domains.cases.evaluation import By, Period, evaluate
from cityos.domains.cases.models import Channel
from cityos.domains.cases.service import Intake, act, create_case
from cityos.foundation.identity.authz import Actor, Grant
from cityos.foundation.identity.models import Scope, UserKind
from cityos.kernel import migrate, profiles
from cityos.kernel.clock import SHANGHAI
from cityos.kernel.db import make_engine, make_sessionmaker
from cityos.kernel.files.models import StoredFile
from cityos.kernel.pagination import PageParams
from cityos.kernel.registry import get_registry
from cityos.settings import Settings

PG_ADMIN = os.environ.get(
    "CITYOS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
LIST_LIMIT_MS = 100.0
EVALUATION_LIMIT_S = 1.0
TRANSITIONS_TARGET = 500.0
WORKERS = 2
BULK = 50
SUBDISTRICTS = [f"440303{n:03d}" for n in range(1, 11)]
STATUSES = ["closed", "closed", "closed", "rejected", "handling", "accepted"]
CATEGORY_PREFIXES = ["11", "14", "12", "01", "1101", "1402", "15", "13"]
# The evidence photos' file rows (the step checks them; their bytes are never read here).
PHOTO = "0" * 64
LOOP: tuple[tuple[str, dict[str, Any], list[dict[str, Any]]], ...] = (
    ("register", {}, []),
    ("dispatch", {}, []),
    ("sign", {}, []),
    (
        "resolve",
        {},
        [{"kind": "photo_before", "sha256": PHOTO}, {"kind": "photo_after", "sha256": PHOTO}],
    ),
    ("verify_pass", {}, []),
    ("call_back", {"satisfaction": 5}, []),
)


def staff(*roles: str, permissions: frozenset[str] = frozenset()) -> Actor:
    """A district-wide member of staff holding ``roles``."""
    return Actor.of(
        user_id=uuid.uuid4(),
        username="bench",
        kind=UserKind.STAFF,
        grants=[Grant(role=r, scope=Scope.DISTRICT, permissions=permissions) for r in roles],
    )


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile: at least ``share`` of the samples are at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _timed_page(
    session: Session, actor: Actor, cursor: str | None, filters: dict[str, Any], cap_ms: int
) -> tuple[float, Any]:
    """One call of the route and its time; a call the statement timeout stopped counts as
    the timeout (and returns no page)."""
    session.execute(text(f"SET LOCAL statement_timeout = {cap_ms}"))
    started = time.perf_counter()
    try:
        page = list_cases(
            session=session, page=PageParams(cursor=cursor, limit=50), actor=actor, **filters
        )
    except OperationalError:
        session.rollback()
        return float(cap_ms), None
    return (time.perf_counter() - started) * 1000, page


def bench_list(session: Session, samples: int, end: datetime, cap_ms: int) -> None:
    actor = staff("dispatcher", permissions=frozenset({"cases.read"}))
    rng = random.Random(1)
    first: list[float] = []
    later: list[float] = []
    rows = 0
    for _ in range(samples):
        month = (end - timedelta(days=rng.randrange(330))).astimezone(SHANGHAI)
        since = month.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        until = (since + timedelta(days=32)).replace(day=1)
        filters: dict[str, Any] = {
            "status_filter": rng.choice(STATUSES),
            "category": rng.choice(CATEGORY_PREFIXES),
            "region": rng.choice(SUBDISTRICTS),
            "channel": None,
            "since": since,
            "until": until,
            "q": None,
        }
        elapsed, page = _timed_page(session, actor, None, filters, cap_ms)
        first.append(elapsed)
        if page is not None:
            rows += len(page.items)
            if page.next_cursor:
                elapsed, _ = _timed_page(session, actor, page.next_cursor, filters, cap_ms)
                later.append(elapsed)
        session.rollback()
        if len(first) >= 10 and min(first) >= cap_ms:
            print(f"list: the first {len(first)} samples all hit the {cap_ms} ms timeout; stopped")
            break
    for label, times in (("first page", first), ("next page ", later)):
        if not times:
            continue
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        print(
            f"list {label}  p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   limit p95 "
            f"{LIST_LIMIT_MS:.0f} ms   {verdict(p95 < LIST_LIMIT_MS)}   ({len(times)} samples)"
        )
    stopped = sum(1 for t in first + later if t >= cap_ms)
    print(
        f"  (50 a page; {rows / len(first):.1f} rows on an average first page; {stopped} "
        f"calls stopped by the {cap_ms} ms statement timeout, counted as {cap_ms} ms)"
    )


def bench_evaluation(session: Session, end: datetime, runs: int) -> None:
    month = (end.astimezone(SHANGHAI).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    period = Period.parse(month)
    times = []
    rows = 0
    for _ in range(runs):
        started = time.perf_counter()
        result = evaluate(session, period=period, by=By.DEPARTMENT)
        times.append(time.perf_counter() - started)
        rows = len(result.rows)
    median, worst = statistics.median(times), max(times)
    print(
        f"evaluation {month}, all departments ({rows} rows, "
        f"{result.total.counts.reported:,} cases): median {median:.3f} s   max {worst:.3f} s   "
        f"limit {EVALUATION_LIMIT_S:.0f} s   {verdict(worst < EVALUATION_LIMIT_S)}"
    )


class Work(NamedTuple):
    """Steps a worker took and the CPU seconds they cost: its own, and its database
    backend's (read from /proc: the database runs on this machine)."""

    steps: int
    app_cpu: float
    db_cpu: float


def _backend_cpu(engine: Engine) -> float:
    """CPU seconds the pooled connection's server process has used so far (Linux)."""
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loop_worker(job: tuple[str, list[str]]) -> Work:
    url, ids = job
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    actor = staff("dispatcher", "handler", "grid-inspector", "hotline-operator")
    done = 0
    app_started, db_started = time.process_time(), _backend_cpu(engine)
    for case_id in ids:
        for action, data, attachments in LOOP:
            with sessions() as session:
                act(
                    session,
                    case_id=uuid.UUID(case_id),
                    action=action,
                    actor=actor,
                    data=data,
                    attachments=attachments,
                )
                session.commit()
            done += 1
    work = Work(done, time.process_time() - app_started, _backend_cpu(engine) - db_started)
    engine.dispose()
    return work


def _bulk_worker(job: tuple[str, list[str]]) -> Work:
    """The same steps taken as the inbox's bulk action takes them: one transaction per
    ``BULK`` cases, a savepoint around each case's step so one failure spoils no other."""
    url, ids = job
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    actor = staff("dispatcher", "handler", "grid-inspector", "hotline-operator")
    done = 0
    app_started, db_started = time.process_time(), _backend_cpu(engine)
    for start in range(0, len(ids), BULK):
        chunk = ids[start : start + BULK]
        for action, data, attachments in LOOP:
            with sessions() as session:
                for case_id in chunk:
                    with session.begin_nested():
                        act(
                            session,
                            case_id=uuid.UUID(case_id),
                            action=action,
                            actor=actor,
                            data=data,
                            attachments=attachments,
                        )
                    done += 1
                session.commit()
    work = Work(done, time.process_time() - app_started, _backend_cpu(engine) - db_started)
    engine.dispose()
    return work


def _commit_worker(job: tuple[str, int, int]) -> int:
    url, offset, n = job
    engine = create_engine(url)
    table = Table(
        "bench_raw", MetaData(), Column("id", Integer, primary_key=True), Column("v", String(40))
    )
    for i in range(n):
        with engine.begin() as connection:
            connection.execute(insert(table).values(id=offset + i, v=uuid.uuid4().hex))
    engine.dispose()
    return n


def _new_cases(session: Session, cases: int) -> list[str]:
    ids = []
    for i in range(cases):
        case = create_case(
            session,
            actor=None,
            intake=Intake(
                channel=Channel.HOTLINE,
                description="基准测试：路边暴露垃圾",
                category_code="1101",
                lon=114.118 + (i % 50) * 0.0004,
                lat=22.548,
            ),
        )
        ids.append(str(case.id))
    session.commit()
    return ids


def _rate(worker: Any, url: str, ids: list[str]) -> tuple[int, float, float, float]:
    """Steps done, steps a second, and CPU milliseconds a step in the workers and in the
    database."""
    halves = [(url, ids[w::WORKERS]) for w in range(WORKERS)]
    context = multiprocessing.get_context("fork")
    with context.Pool(WORKERS) as pool:
        started = time.perf_counter()
        works: list[Work] = pool.map(worker, halves)
        elapsed = time.perf_counter() - started
    done = sum(w.steps for w in works)
    app_ms = 1000 * sum(w.app_cpu for w in works) / done
    db_ms = 1000 * sum(w.db_cpu for w in works) / done
    return done, done / elapsed, app_ms, db_ms


def _cpu_line(app_ms: float, db_ms: float) -> str:
    """What a step costs in CPU, and the rate two cores of application alone would give
    with the database on its own machine (a derived figure, not a measured one)."""
    return (
        f"  CPU a step: {app_ms:.2f} ms application + {db_ms:.2f} ms database; two cores "
        f"for the application alone would give about {2000 / app_ms:,.0f}/s (derived)"
    )


def bench_transitions(url: str, session: Session, cases: int) -> None:
    session.add(
        StoredFile(
            sha256=PHOTO, size=1, content_type="image/jpeg", filename="bench.jpg", backend="bench"
        )
    )
    done, rate, app_ms, db_ms = _rate(_loop_worker, url, _new_cases(session, cases))
    bulk_done, bulk_rate, bulk_app_ms, bulk_db_ms = _rate(
        _bulk_worker, url, _new_cases(session, cases)
    )
    context = multiprocessing.get_context("fork")
    table = Table(
        "bench_raw", MetaData(), Column("id", Integer, primary_key=True), Column("v", String(40))
    )
    engine = create_engine(url)
    table.metadata.create_all(engine)
    n = 2000
    with context.Pool(WORKERS) as pool:
        started = time.perf_counter()
        raw = sum(pool.map(_commit_worker, [(url, w * n, n) for w in range(WORKERS)]))
        raw_rate = raw / (time.perf_counter() - started)
    table.metadata.drop_all(engine)
    engine.dispose()
    print(
        f"workflow transitions, {WORKERS} processes: {rate:7.0f}/s   target "
        f"{TRANSITIONS_TARGET:.0f}/s   {verdict(rate >= TRANSITIONS_TARGET)}   "
        f"({done:,} steps of {cases:,} cases, one transaction a step, {os.cpu_count()} CPUs)"
    )
    print(_cpu_line(app_ms, db_ms))
    print(
        f"workflow transitions in bulk, {WORKERS} processes: {bulk_rate:7.0f}/s   target "
        f"{TRANSITIONS_TARGET:.0f}/s   {verdict(bulk_rate >= TRANSITIONS_TARGET)}   "
        f"({bulk_done:,} steps, {BULK} cases a transaction with a savepoint each, as the "
        "inbox's bulk action and the timers take them)"
    )
    print(_cpu_line(bulk_app_ms, bulk_db_ms))
    print(f"  reference: single-row committed inserts, {WORKERS} processes: {raw_rate:7.0f}/s")


def measure(url: str, args: argparse.Namespace) -> None:
    registry = get_registry()
    registry.import_models()
    engine = make_engine(url)
    migrate.upgrade(engine, registry)
    sessions = make_sessionmaker(engine)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    end = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with sessions() as session:
        profiles.load(session, root=profiles.resolve("luohu"), registry=registry, settings=settings)
        session.commit()
        days = 365
        per_day = round(args.cases / days / 0.93)
        started = time.perf_counter()
        written = generate_history(session, days=days, per_day=per_day, end=end)
        session.commit()
        elapsed = time.perf_counter() - started
        print(
            f"generated {written:,} synthetic cases ({days} days × ~{per_day}/day) in "
            f"{elapsed:.0f} s: {written / elapsed:,.0f} rows/s"
        )
        session.execute(text("ANALYZE"))
        session.commit()
        bench_list(session, args.samples, end, args.list_timeout_ms)
        bench_evaluation(session, end, args.runs)
        bench_transitions(url, session, args.loops)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--list-timeout-ms", type=int, default=3000, help="statement timeout of a list call"
    )
    parser.add_argument("--loops", type=int, default=500, help="cases taken round the loop")
    args = parser.parse_args()
    name = f"cityos_bench_cases_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        measure(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
