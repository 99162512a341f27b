"""The demo district's synthetic case history: marked synthetic, numbered and timed like
real cases, placed and routed by the profile, with the skews that make evaluation pages
mean something (a dominant class, hot grids, the rain season), and generated only once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from cityos.domains.cases.demo import generate_history, synthetic_count
from cityos.domains.cases.models import Case, CaseCategory, CaseNumber, Channel
from cityos.domains.cases.routing import route
from cityos.domains.cases.service import next_number
from cityos.foundation.geo.models import Region
from cityos.foundation.identity.models import Department
from cityos.foundation.workflow import WorkflowInstance
from cityos.kernel import profiles
from cityos.kernel.clock import SHANGHAI
from cityos.kernel.registry import Registry
from cityos.settings import Settings
from tests.conftest import TestDatabase as Database

# Early June: the rain season, with November's dry days to compare it with.
RAINY_END = datetime(2026, 6, 20, 10, 0, tzinfo=UTC)
DRY_END = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DAYS, PER_DAY = 20, 30
NUMBER = re.compile(r"LH(\d{8})(\d{6})")


@dataclass
class District:
    connection: Connection
    written: int


@pytest.fixture(scope="module")
def district(database: Database, registry: Registry) -> Iterator[District]:
    """The Luohu profile and 20 rainy-season days of history, loaded once for the module
    in a transaction rolled back at its end."""
    connection = database.engine.connect()
    outer = connection.begin()
    settings = Settings(
        database_url=database.url,
        pii_master_key=SecretStr("test-only-pii-master-key-0123456789abcdef"),
        _env_file=None,
    )
    try:
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            root = profiles.resolve("luohu")
            profiles.load(session, root=root, registry=registry, settings=settings)
            written = generate_history(session, days=DAYS, per_day=PER_DAY, end=RAINY_END)
            session.commit()
        yield District(connection, written)
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def history(district: District) -> Iterator[Session]:
    """A session on the module's history whose own changes are rolled back."""
    nested = district.connection.begin_nested()
    session = Session(
        bind=district.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        nested.rollback()


def _cases(session: Session) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.synthetic.is_(True))))


def test_every_case_is_synthetic_numbered_once_and_reported_in_the_period(
    history: Session, district: District
) -> None:
    cases = _cases(history)
    assert len(cases) == district.written
    # About 30 a day; weekends, holidays and chance move it.
    assert DAYS * PER_DAY * 0.6 < len(cases) < DAYS * PER_DAY * 1.6
    assert history.scalar(select(func.count()).select_from(Case)) == len(cases)
    numbers = [NUMBER.fullmatch(c.number) for c in cases]
    assert all(numbers)
    assert len({c.number for c in cases}) == len(cases)
    for case, found in zip(cases, numbers, strict=True):
        assert found is not None
        assert found[1] == case.created_at.astimezone(SHANGHAI).strftime("%Y%m%d")
        assert case.created_at <= RAINY_END
        assert case.reporter_name is None
        assert case.reporter_phone is None


def test_live_numbering_continues_after_the_history(history: Session) -> None:
    last = max(_cases(history), key=lambda c: c.number)
    day = last.number[2:10]
    counter = history.get(CaseNumber, day)
    assert counter is not None
    assert counter.last == int(last.number[10:])
    following = next_number(history, at=last.created_at)
    assert following == f"LH{day}{int(last.number[10:]) + 1:06d}"


def test_each_step_follows_the_one_before_and_the_flags_agree(history: Session) -> None:
    closed = [c for c in _cases(history) if c.status == "closed"]
    assert len(closed) > 0.9 * len(_cases(history)) - 60
    for case in closed:
        steps = [
            case.created_at,
            case.registered_at,
            case.dispatched_at,
            case.signed_at,
            case.resolved_at,
            case.closed_at,
        ]
        assert all(step is not None for step in steps), case.number
        assert steps == sorted(steps), case.number  # type: ignore[type-var]
        assert case.workflow_instance_id is None
        assert case.closed_on_time == bool(
            case.signed_on_time and case.handled_on_time and case.supervised_count == 0
        )
        assert case.handling_seconds == int(
            (case.resolved_at - case.dispatched_at).total_seconds()  # type: ignore[operator]
        )
        assert case.satisfaction is None or 1 <= case.satisfaction <= 5
    assert any(c.returned_count for c in closed)
    assert any(c.rework_count for c in closed)
    assert any(c.extension_count for c in closed)
    rated = [c.satisfaction for c in closed if c.satisfaction is not None]
    assert sum(1 for s in rated if s >= 4) > 0.6 * len(rated)


def test_open_cases_are_recent_and_run_in_the_workflow(history: Session) -> None:
    opened = [c for c in _cases(history) if c.closed_at is None]
    assert opened
    for case in opened:
        assert case.workflow_instance_id is not None
        instance = history.get(WorkflowInstance, case.workflow_instance_id)
        assert instance is not None
        assert instance.closed_at is None
        assert case.status == instance.state
        assert (RAINY_END - case.created_at).total_seconds() <= 4 * 3600


def test_places_classes_and_units_come_from_the_profile(history: Session) -> None:
    cases = _cases(history)
    grids = set(history.scalars(select(Region.code).where(Region.level == "grid")))
    categories = set(history.scalars(select(CaseCategory.code)))
    units = dict(history.execute(select(Department.id, Department.code)).all())
    for case in cases:
        assert case.region_code in grids
        assert case.region_code is not None
        assert case.region_code.startswith(case.community_code or "-")
        assert case.category_code in categories
        assert case.lon is not None
        assert case.lat is not None
    for case in [c for c in cases if c.dispatched_at is not None][:200]:
        routed = route(
            history, category_code=case.category_code or "", region_code=case.region_code
        )
        assert routed is not None
        assert case.lead_department_id is not None
        assert units[case.lead_department_id] == routed.lead_department_code
    channels = Counter(c.channel for c in cases)
    assert channels[Channel.HOTLINE] > channels[Channel.PORTAL] > channels[Channel.IOT]


def test_a_few_classes_and_grids_dominate(history: Session) -> None:
    cases = _cases(history)
    classes = Counter(c.category_code for c in cases)
    # 暴露垃圾 is the commonest class, far above an average one.
    assert classes.most_common(1)[0][0] in {"1101", "1402", "1201"}
    assert classes["1101"] > 5 * len(cases) / len(classes)
    grids = Counter(c.region_code for c in cases)
    busiest = sum(n for _, n in grids.most_common(12))
    assert busiest > 12 * 3 * len(cases) / 1041


def test_the_rain_season_brings_waterlogging(history: Session, district: District) -> None:
    rainy = Counter(c.category_code for c in _cases(history))
    generate_history(history, days=DAYS, per_day=PER_DAY, end=DRY_END, replace=True)
    dry = Counter(c.category_code for c in _cases(history))
    drains = ("1505", "1504", "0104")
    assert sum(rainy[c] for c in drains) > 2 * sum(dry[c] for c in drains)


def test_generating_again_changes_nothing_and_replacing_spares_real_cases(
    history: Session, district: District
) -> None:
    assert generate_history(history, days=DAYS, per_day=PER_DAY, end=RAINY_END) == 0
    assert synthetic_count(history) == district.written
    real = _cases(history)[0]
    real.synthetic = False
    real.number = "LH99990101000001"
    history.flush()
    again = generate_history(history, days=5, per_day=PER_DAY, end=RAINY_END, replace=True)
    assert synthetic_count(history) == again > 0
    assert history.get(Case, real.id) is not None
    numbers = [c.number for c in history.scalars(select(Case))]
    assert len(numbers) == len(set(numbers))
