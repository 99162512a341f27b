"""Storage basics: UTC timestamps on both databases, UUIDv7 ids, the unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from cityos.foundation.identity.models import Department
from cityos.kernel.clock import utcnow
from cityos.kernel.db import DatabaseUrlError, make_engine
from cityos.kernel.ids import new_id
from cityos.kernel.uow import unit_of_work


def department(code: str) -> Department:
    return Department(code=code, name_zh="测试部门", name_en="Test unit", kind="bureau")


def test_timestamps_come_back_aware_and_in_utc(session: Session) -> None:
    shanghai = timezone(timedelta(hours=8))
    row = department("tz-test")
    row.created_at = datetime(2026, 10, 1, 9, 30, tzinfo=shanghai)
    session.add(row)
    session.flush()
    session.expire_all()
    loaded = session.scalars(select(Department).where(Department.code == "tz-test")).one()
    assert loaded.created_at == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)
    assert loaded.created_at.utcoffset() == timedelta(0)


def test_a_naive_timestamp_is_refused(session: Session) -> None:
    row = department("naive")
    row.created_at = datetime(2026, 10, 1, 9, 30)
    session.add(row)
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_ids_are_time_ordered() -> None:
    ids = [new_id() for _ in range(200)]
    assert ids == sorted(ids)
    assert all(i.version == 7 for i in ids)


def test_unit_of_work_commits_on_success_and_rolls_back_on_error(
    session: Session,
) -> None:
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    with unit_of_work(factory) as work:
        work.add(department("kept"))

    def failing_handler() -> None:
        with unit_of_work(factory) as work:
            work.add(department("dropped"))
            work.flush()
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        failing_handler()
    codes = set(session.scalars(select(Department.code)))
    assert "kept" in codes
    assert "dropped" not in codes


def test_unsupported_database_urls_are_refused() -> None:
    with pytest.raises(DatabaseUrlError, match="unsupported database 'mysql'"):
        make_engine("mysql://root@localhost/x")
    with pytest.raises(DatabaseUrlError, match="invalid database URL"):
        make_engine("::::")


def test_a_released_savepoint_stays_inside_the_outer_transaction(engine: Engine) -> None:
    """pysqlite's own transaction handling would commit a first savepoint on release; the
    engine takes control of BEGIN so that the outer rollback undoes it, as on PostgreSQL."""
    with engine.connect() as connection:
        outer = connection.begin()
        inner = connection.begin_nested()
        connection.execute(
            insert(Department).values(
                id=new_id(),
                code="savepoint-probe",
                name_zh="探针",
                name_en="Probe",
                kind="bureau",
                sort=0,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        inner.commit()
        outer.rollback()
    with engine.connect() as connection:
        found = connection.scalar(select(Department.id).where(Department.code == "savepoint-probe"))
    assert found is None
