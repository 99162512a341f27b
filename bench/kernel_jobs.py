"""Job and outbox throughput of one worker, next to the database's own commit rate.

A job costs a claim transaction and a run transaction (handler writes + done mark); an
event costs a claim and a delivery. The reference is the rate of single-row committed
transactions on the same database in the same run: a job cannot beat half of it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, text
from sqlalchemy.orm import Session

from cityos.kernel import migrate
from cityos.kernel.bus import drain, emit
from cityos.kernel.jobs import run_pending, schedule
from cityos.kernel.registry import Module, Registry, get_registry
from cityos.kernel.runtime import build_runtime
from cityos.settings import Settings

PG_ADMIN = os.environ.get(
    "CITYOS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def noop_job(session: Session, payload: dict[str, Any]) -> None:
    return None


def noop_handler(session: Session, event: Any) -> None:
    return None


def commit_rate(url: str, n: int) -> float:
    """Single-row INSERT transactions per second, the database's own ceiling for us."""
    engine = create_engine(url)
    table = Table(
        "bench_raw", MetaData(), Column("id", Integer, primary_key=True), Column("v", String(40))
    )
    table.metadata.create_all(engine)
    started = time.perf_counter()
    for i in range(n):
        with engine.begin() as connection:
            connection.execute(insert(table).values(id=i, v=uuid.uuid4().hex))
    elapsed = time.perf_counter() - started
    table.metadata.drop_all(engine)
    engine.dispose()
    return n / elapsed


def measure(backend: str, url: str, jobs: int) -> None:
    bench = Module(
        name="bench", jobs={"bench.noop": noop_job}, event_handlers=(("bench.*", noop_handler),)
    )
    registry = Registry((*get_registry().modules, bench))
    runtime = build_runtime(Settings(_env_file=None, database_url=url), registry=registry)  # type: ignore[call-arg]
    migrate.upgrade(runtime.engine, registry)
    with runtime.unit_of_work() as session:
        for i in range(jobs):
            schedule(session, name="bench.noop", payload={"i": i})
            emit(session, type="bench.tick", payload={"i": i})
    started = time.perf_counter()
    done = 0
    while done < jobs:
        ran = run_pending(runtime, worker_id="bench", limit=jobs - done)
        if ran == 0:
            break
        done += ran
    job_rate = done / (time.perf_counter() - started)
    started = time.perf_counter()
    published = drain(runtime, limit=jobs)
    event_rate = published / (time.perf_counter() - started)
    runtime.close()
    reference = commit_rate(url, min(jobs, 2000))
    print(f"{backend:<10} jobs run        {job_rate:9.0f}/s   ({done} jobs, one worker)")
    print(f"{backend:<10} events relayed  {event_rate:9.0f}/s   ({published} events, one handler)")
    print(f"{backend:<10} reference       {reference:9.0f}/s   single-row committed transactions")
    ratio = job_rate / reference
    print(f"{backend:<10} jobs / reference  {ratio:6.2f}   (two transactions a job: at most 0.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.databases.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                measure("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args.jobs)
        elif backend == "postgresql":
            name = f"cityos_bench_{os.getpid()}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                measure("postgresql", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args.jobs)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        else:
            sys.exit(f"unknown database {backend!r}")


if __name__ == "__main__":
    main()
