"""Where a case's workflow step spends its time, on PostgreSQL with the Luohu profile.

A fresh database, ``--cases`` new hotline cases, each taken through the loop of
``bench/cases.py`` (register → dispatch → sign → resolve → verify_pass → call_back), one
transaction a step, in one process under cProfile. Prints the rate (slowed by the
profiler; compare runs with each other, not with ``bench/cases.py``), the SQL statements
a step sends, and the functions that took the most time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
import uuid
from collections import Counter

from sqlalchemy import create_engine, event, text

from bench.cases import LOOP, PHOTO, _new_cases, staff
from cityos.domains.cases.service import act
from cityos.kernel import migrate, profiles
from cityos.kernel.db import make_engine, make_sessionmaker
from cityos.kernel.files.models import StoredFile
from cityos.kernel.registry import get_registry
from cityos.settings import Settings

PG_ADMIN = os.environ.get(
    "CITYOS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--top", type=int, default=40, help="functions to list")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (tottime …)")
    parser.add_argument("--dump", help="also write the raw profile to this file")
    args = parser.parse_args()
    name = f"cityos_profile_cases_{os.getpid()}"
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
            session.add(
                StoredFile(
                    sha256=PHOTO, size=1, content_type="image/jpeg", filename="b.jpg", backend="b"
                )
            )
            session.commit()
            ids = _new_cases(session, args.cases + 1)
        actor = staff("dispatcher", "handler", "grid-inspector", "hotline-operator")

        statements: Counter[str] = Counter()

        def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            statements[" ".join(statement.split())[:110]] += 1

        def run(case_ids: list[str]) -> int:
            steps = 0
            for case_id in case_ids:
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
                    steps += 1
            return steps

        run(ids[:1])  # warm caches (definitions, calendar) outside the measurement
        event.listen(engine, "before_cursor_execute", count)
        one = run(ids[1:2])
        event.remove(engine, "before_cursor_execute", count)
        print(f"SQL statements for one case's {one} steps ({sum(statements.values())} in all):")
        for statement, n in statements.most_common():
            print(f"  {n:3d}  {statement}")
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        steps = run(ids[2:])
        profiler.disable()
        elapsed = time.perf_counter() - started
        print(f"{steps:,} steps in one process: {steps / elapsed:,.0f}/s under the profiler")
        if args.dump:
            profiler.dump_stats(args.dump)
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
