"""Performance evaluation: every indicator and the composite from cases whose flags are
known, grouped four ways, over periods in Shanghai days; the profile's weights; the Excel
workbook; and who may ask."""

from __future__ import annotations

import io
import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy.orm import Session

from cityos.domains.cases.evaluation import (
    DEFAULT_WEIGHTS,
    By,
    Counts,
    EvaluationFile,
    EvaluationRow,
    Indicator,
    Period,
    evaluate,
    evaluation_section,
    export_xlsx,
    loaded_weights,
)
from cityos.domains.cases.models import Case, CaseCategory, CategoryKind, Channel, RequestType
from cityos.foundation.geo.models import Region
from cityos.foundation.identity.models import Department, Scope, UserKind
from cityos.foundation.identity.tokens import issue_token
from cityos.kernel.clock import SHANGHAI
from cityos.kernel.profiles import ProfileContext
from cityos.kernel.runtime import Runtime
from cityos.kernel.system.models import District
from cityos.settings import Settings
from tests.factories.identity import Assign, create_user

ROOT = Path(__file__).parents[3]
WEIGHTS_FILE = ROOT / "src/cityos/profiles/luohu/packs/cases/evaluation.yaml"
API = "/api/v1/cases/evaluation"
NOVEMBER = Period.parse("2026-11")
WEST, EAST = "440303001", "440303002"
SOUTHWEST, NORTHWEST, SOUTHEAST = "440303001001", "440303001002", "440303002001"
_numbers = itertools.count(1)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def _case(
    session: Session,
    *,
    created: datetime,
    department: uuid.UUID | None = None,
    place: tuple[str, str] | None = None,
    category: str | None = None,
    steps: str = "",
    **flags: Any,
) -> Case:
    """A case as the loop leaves it: ``steps`` names the moments it reached (r registered,
    d dispatched, s signed, v resolved, c closed)."""
    n = next(_numbers)
    moments = {
        "registered_at": "r",
        "dispatched_at": "d",
        "signed_at": "s",
        "resolved_at": "v",
        "closed_at": "c",
    }
    case = Case(
        number=f"EV{n:014d}",
        channel=Channel.HOTLINE,
        request_type=RequestType.COMPLAINT,
        title=f"case {n}",
        description="evaluation fixture",
        category_code=category,
        lead_department_id=department,
        subdistrict_code=place[0] if place else None,
        community_code=place[1] if place else None,
        region_code=place[1] if place else None,
        status="closed" if "c" in steps else ("dispatched" if "d" in steps else "accepted"),
        created_at=created,
        **{column: created for column, step in moments.items() if step in steps},
        **flags,
    )
    session.add(case)
    session.flush()
    return case


@dataclass(frozen=True)
class Book:
    water: uuid.UUID
    urban: uuid.UUID
    first_case: uuid.UUID


def _places(session: Session) -> None:
    names = {
        WEST: ("西街道", "West Subdistrict", "subdistrict"),
        EAST: ("东街道", "East Subdistrict", "subdistrict"),
        SOUTHWEST: ("西南社区", "Southwest Community", "community"),
        NORTHWEST: ("西北社区", "Northwest Community", "community"),
        SOUTHEAST: ("东南社区", "Southeast Community", "community"),
    }
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    for code, (zh, en, level) in names.items():
        session.add(
            Region(
                code=code,
                level=level,
                name_zh=zh,
                name_en=en,
                geometry=square,
                min_lon=0,
                min_lat=0,
                max_lon=1,
                max_lat=1,
                area_m2=1,
                centroid_lon=0.5,
                centroid_lat=0.5,
            )
        )
    for code, zh, en, unit in (
        ("0101", "上水井盖", "Water manhole cover", "ev-water"),
        ("1401", "占道经营", "Street vending", "ev-urban"),
    ):
        session.add(
            CaseCategory(
                code=code,
                kind=CategoryKind.COMPONENT,
                major_code=code[:2],
                major_name_zh=zh,
                major_name_en=en,
                name_zh=zh,
                name_en=en,
                sign_limit="1 working hours",
                handle_limit="2 working days",
                department_code=unit,
            )
        )
    session.flush()


def _book(session: Session) -> Book:
    """November 2026: the water unit's four cases in 西南社区 (one returned, reworked and
    extended), the urban unit's two in 东南社区 and one synthetic, one case nobody has
    registered, one merged duplicate; and one water case the minute before November."""
    _places(session)
    units = {}
    for code in ("ev-water", "ev-urban"):
        unit = Department(code=code, name_zh=f"{code}局", name_en=f"{code} bureau", kind="bureau")
        session.add(unit)
        session.flush()
        units[code] = unit.id
    water = {"department": units["ev-water"], "place": (WEST, SOUTHWEST), "category": "0101"}
    urban = {"department": units["ev-urban"], "place": (EAST, SOUTHEAST), "category": "1401"}
    first_day = date(2026, 11, 1)
    on_time = {"signed_on_time": True, "handled_on_time": True, "closed_on_time": True}
    # The first minutes of 1 November in Shanghai are still 31 October in UTC.
    first = _case(
        session,
        created=_at(first_day, 0, 30),
        steps="rdsvc",
        handling_seconds=7200,
        satisfaction=5,
        **on_time,
        **water,
    )
    _case(
        session,
        created=_at(date(2026, 11, 2), 10),
        steps="rdsvc",
        signed_on_time=True,
        handled_on_time=False,
        closed_on_time=False,
        handling_seconds=10800,
        satisfaction=3,
        returned_count=1,
        rework_count=1,
        extension_count=1,
        **water,
    )
    _case(session, created=_at(date(2026, 11, 3), 10), steps="rds", signed_on_time=False, **water)
    _case(
        session,
        created=_at(date(2026, 11, 30), 23, 59),
        steps="rdsvc",
        handling_seconds=3600,
        satisfaction=4,
        **on_time,
        **water,
    )
    _case(
        session,
        created=_at(date(2026, 11, 5), 9),
        steps="rdsvc",
        handling_seconds=3600,
        satisfaction=5,
        **on_time,
        **urban,
    )
    _case(session, created=_at(date(2026, 11, 6), 9), steps="rds", signed_on_time=True, **urban)
    _case(
        session,
        created=_at(date(2026, 11, 7), 9),
        steps="rds",
        signed_on_time=False,
        synthetic=True,
        **urban,
    )
    _case(session, created=_at(date(2026, 11, 8), 9), place=(WEST, NORTHWEST))
    _case(
        session,
        created=_at(date(2026, 11, 9), 9),
        steps="rdsvc",
        master_case_id=first.id,
        satisfaction=1,
        **water,
    )
    _case(session, created=_at(date(2026, 10, 31), 23, 59), steps="rd", **water)
    return Book(units["ev-water"], units["ev-urban"], first.id)


@pytest.fixture
def book(runtime: Runtime) -> Book:
    with runtime.unit_of_work() as session:
        return _book(session)


WATER = Counts(
    reported=4,
    registered=4,
    dispatched=4,
    returned=1,
    signed=4,
    signed_on_time=3,
    handled=3,
    handled_on_time=2,
    closed=3,
    closed_on_time=2,
    resolved=3,
    reworked=1,
    extended=1,
    timed=3,
    handling_seconds=21600,
    rated=3,
    satisfied=2,
)
URBAN = Counts(
    reported=3,
    synthetic=1,
    registered=3,
    dispatched=3,
    signed=3,
    signed_on_time=2,
    handled=1,
    handled_on_time=1,
    closed=1,
    closed_on_time=1,
    resolved=1,
    timed=1,
    handling_seconds=3600,
    rated=1,
    satisfied=1,
)
UNREGISTERED = Counts(reported=1)
# 0.25·⅔ + 0.2·⅔ + 0.2·⅔ + 0.05·(1 − ⅓) + 0.1·¾ + 0.1·¾ + 0.1·¾ = 0.691666…
WATER_COMPOSITE = 69.17
# 0.25 + 0.2 + 0.2 + 0.1 + 0.05 + 0.1·⅔ + 0.1·⅓ = 0.9
URBAN_COMPOSITE = 90.0


def _rows(evaluation: Any) -> dict[str | None, EvaluationRow]:
    return {row.key: row for row in evaluation.rows}


def test_each_indicator_of_a_department_is_counted_as_defined(session: Session, book: Book) -> None:
    evaluation = evaluate(session, period=NOVEMBER, by=By.DEPARTMENT)
    rows = _rows(evaluation)
    assert set(rows) == {"ev-water", "ev-urban", None}
    water = rows["ev-water"]
    assert (water.name_zh, water.name_en) == ("ev-water局", "ev-water bureau")
    assert water.counts == WATER
    rates = water.rates
    assert rates.registration_rate == 1.0
    assert rates.dispatch_accuracy == 0.75
    assert rates.signed_on_time_rate == 0.75
    assert rates.handled_on_time_rate == 2 / 3
    assert rates.closure_rate == 0.75
    assert rates.closed_on_time_rate == 2 / 3
    assert rates.rework_rate == 1 / 3
    assert rates.extension_rate == 0.25
    assert rates.satisfaction_rate == 2 / 3
    assert rates.average_handling_hours == 2.0
    assert water.composite == WATER_COMPOSITE
    urban = rows["ev-urban"]
    assert urban.counts == URBAN
    assert urban.rates.signed_on_time_rate == 2 / 3
    assert urban.rates.closure_rate == 1 / 3
    assert urban.rates.rework_rate == 0.0
    assert urban.rates.extension_rate == 0.0
    assert urban.rates.average_handling_hours == 1.0
    assert urban.composite == URBAN_COMPOSITE
    assert [(row.key, row.rank) for row in evaluation.rows] == [
        ("ev-urban", 1),
        ("ev-water", 2),
        (None, None),
    ]


def test_a_zero_denominator_is_no_value_and_no_value_is_no_composite(
    session: Session, book: Book
) -> None:
    waiting = _rows(evaluate(session, period=NOVEMBER, by=By.DEPARTMENT))[None]
    assert (waiting.name_zh, waiting.name_en) == ("（未派遣）", "(not dispatched)")
    assert waiting.counts == UNREGISTERED
    assert waiting.rates.registration_rate == 0.0
    others = {k: v for k, v in vars(waiting.rates).items() if k != "registration_rate"}
    assert set(others.values()) == {None}
    assert waiting.composite is None
    assert waiting.rank is None


def test_the_composite_re_normalises_over_the_indicators_with_a_value(session: Session) -> None:
    unit = Department(code="ev-new", name_zh="新局", name_en="New bureau", kind="bureau")
    session.add(unit)
    session.flush()
    _case(
        session,
        created=_at(date(2026, 12, 5), 9),
        department=unit.id,
        steps="rds",
        signed_on_time=True,
    )
    (row,) = evaluate(session, period=Period.parse("2026-12-05"), by=By.DEPARTMENT).rows
    # Only 派遣准确率 (1), 按期签收率 (1) and 结案率 (0) have a value: (0.1 + 0.1 + 0) / 0.3.
    assert row.rates.handled_on_time_rate is None
    assert row.rates.satisfaction_rate is None
    assert row.composite == 66.67
    assert row.rank == 1


def test_the_total_adds_every_group_and_marks_the_synthetic_cases(
    session: Session, book: Book
) -> None:
    evaluation = evaluate(session, period=NOVEMBER, by=By.DEPARTMENT)
    assert evaluation.total.counts == WATER + URBAN + UNREGISTERED
    assert evaluation.total.counts.reported == 8
    assert evaluation.total.rank is None
    assert evaluation.synthetic_cases == 1
    assert evaluation.include_synthetic is True


def test_synthetic_cases_can_be_left_out(session: Session, book: Book) -> None:
    evaluation = evaluate(session, period=NOVEMBER, by=By.DEPARTMENT, include_synthetic=False)
    urban = _rows(evaluation)["ev-urban"]
    assert urban.counts.reported == 2
    assert urban.counts.synthetic == 0
    assert urban.rates.signed_on_time_rate == 1.0
    assert urban.rates.closure_rate == 0.5
    assert urban.composite == 95.0
    assert evaluation.synthetic_cases == 0


def test_merged_duplicates_never_count(session: Session, book: Book) -> None:
    for by in By:
        evaluation = evaluate(session, period=NOVEMBER, by=by)
        assert evaluation.total.counts.reported == 8
        assert evaluation.total.counts.rated == 4


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        (
            By.SUBDISTRICT,
            [(EAST, "东街道", 1, URBAN), (WEST, "西街道", 2, WATER + UNREGISTERED)],
        ),
        (
            By.COMMUNITY,
            [
                (SOUTHEAST, "东南社区", 1, URBAN),
                (SOUTHWEST, "西南社区", 2, WATER),
                (NORTHWEST, "西北社区", None, UNREGISTERED),
            ],
        ),
        (
            By.CATEGORY,
            [
                ("1401", "占道经营", 1, URBAN),
                ("0101", "上水井盖", 2, WATER),
                (None, "（未分类）", None, UNREGISTERED),
            ],
        ),
    ],
)
def test_rows_by_place_and_by_category(
    session: Session, book: Book, by: By, expected: list[tuple[Any, ...]]
) -> None:
    evaluation = evaluate(session, period=NOVEMBER, by=by)
    assert [(r.key, r.name_zh, r.rank, r.counts) for r in evaluation.rows] == expected
    # 立案率 is not weighted, so the unregistered case leaves 西街道's composite as is.
    assert evaluation.rows[0].composite == URBAN_COMPOSITE
    assert evaluation.rows[1].composite == WATER_COMPOSITE


def test_a_period_counts_cases_created_in_its_shanghai_days(session: Session, book: Book) -> None:
    october = _rows(evaluate(session, period=Period.parse("2026-10"), by=By.DEPARTMENT))
    assert list(october) == ["ev-water"]
    assert october["ev-water"].counts.reported == 1
    first = evaluate(session, period=Period.parse("2026-11-01"), by=By.DEPARTMENT)
    assert first.total.counts.reported == 1
    autumn = evaluate(session, period=Period.parse("2026-Q4"), by=By.DEPARTMENT)
    assert autumn.total.counts.reported == 9
    days = evaluate(session, period=Period.parse("2026-11-02..2026-11-05"), by=By.DEPARTMENT)
    assert days.total.counts.reported == 3
    assert evaluate(session, period=Period.parse("2025"), by=By.DEPARTMENT).rows == []


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-11-03", date(2026, 11, 3), date(2026, 11, 3)),
        (" 2026-11-01..2026-11-15 ", date(2026, 11, 1), date(2026, 11, 15)),
    ],
)
def test_periods_are_read(text: str, first: date, last: date) -> None:
    period = Period.parse(text)
    assert (period.first, period.last) == (first, last)


def test_a_period_runs_from_shanghai_midnight_to_shanghai_midnight() -> None:
    assert NOVEMBER.bounds() == (
        datetime(2026, 10, 31, 16, tzinfo=UTC),
        datetime(2026, 11, 30, 16, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-13", "not a month"),
        ("2026-Q5", "not a period"),
        ("2026-02-30", "not a day"),
        ("2026-11-15..2026-11-01", "ends before it starts"),
        ("2026-11-01..", "not a period"),
        ("November", "not a period"),
        ("", "not a period"),
    ],
)
def test_a_bad_period_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Period.parse(text)


def test_the_shipped_weights_are_the_defaults_and_sum_to_one() -> None:
    shipped = EvaluationFile.model_validate(yaml.safe_load(WEIGHTS_FILE.read_text("utf-8")))
    assert shipped.weights == DEFAULT_WEIGHTS


@pytest.mark.parametrize(
    ("weights", "says"),
    [
        ({"handled_on_time_rate": 0.5, "speed": 0.5}, "speed"),
        ({"handled_on_time_rate": 0.5, "satisfaction_rate": 0.4}, "sum to 1"),
        ({"handled_on_time_rate": 1.2, "satisfaction_rate": -0.2}, "above 0"),
        ({}, "at least 1"),
    ],
)
def test_weights_that_cannot_be_used_are_refused(weights: dict[str, float], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        EvaluationFile.model_validate({"weights": weights})


def test_the_loaded_weights_are_the_ones_evaluation_uses(
    session: Session, book: Book, settings: Settings
) -> None:
    assert loaded_weights(session) == DEFAULT_WEIGHTS
    session.add(
        District(
            code="440303", name_zh="罗湖区", name_en="Luohu", timezone="Asia/Shanghai", profile="t"
        )
    )
    session.flush()
    context = ProfileContext(name="t", root=settings.data_dir, settings=settings)
    satisfaction_only = EvaluationFile.model_validate({"weights": {"satisfaction_rate": 1}})
    evaluation_section.load(session, context, [satisfaction_only])
    evaluation_section.load(session, context, [satisfaction_only])
    assert context.summary == {"evaluation_weights": 1}
    assert loaded_weights(session) == {Indicator.SATISFACTION: 1.0}
    rows = _rows(evaluate(session, period=NOVEMBER, by=By.DEPARTMENT))
    assert rows["ev-water"].composite == 66.67
    assert rows["ev-urban"].composite == 100.0


def test_the_excel_workbook_has_two_header_rows_and_every_row(
    session: Session, book: Book, tmp_path: Path
) -> None:
    evaluation = evaluate(session, period=NOVEMBER, by=By.DEPARTMENT)
    path = tmp_path / "out" / "evaluation.xlsx"
    assert export_xlsx(evaluation, path) == 3
    workbook = load_workbook(path)
    sheet = workbook["考核排名 Ranking"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("排名", "编码", "名称")
    assert rows[1][:3] == ("Rank", "Code", "Name (zh)")
    header = rows[1]
    assert rows[2][:4] == (1, "ev-urban", "ev-urban局", "ev-urban bureau")
    assert rows[2][header.index("Composite")] == URBAN_COMPOSITE
    assert rows[3][header.index("Handled-on-time rate")] == pytest.approx(2 / 3)
    assert rows[4][:3] == (None, None, "（未派遣）")
    assert rows[4][header.index("Handled-on-time rate")] is None
    assert rows[5][2:4] == ("合计", "Total")
    assert rows[5][header.index("Reported")] == 8
    about = dict(workbook["说明 About"].iter_rows(values_only=True))
    assert about["期间 Period"] == "2026-11"
    assert about["演示数据案件数 Synthetic cases"] == 1


@pytest.fixture
def tokens(runtime: Runtime) -> dict[str, str]:
    with runtime.unit_of_work() as session:
        leader = create_user(
            session, "ev-leader", Assign("district-leader", Scope.DISTRICT, ["cases.evaluate"])
        )
        citizen = create_user(
            session,
            "ev-citizen",
            Assign("citizen", Scope.OWN, ["cases.create", "cases.read"]),
            kind=UserKind.CITIZEN,
        )
        return {
            who: issue_token(session, settings=runtime.settings, user=user)
            for who, user in (("leader", leader), ("citizen", citizen))
        }


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_api_ranks_for_those_who_may_evaluate(
    client: TestClient, book: Book, tokens: dict[str, str]
) -> None:
    answer = client.get(API, params={"period": "2026-11"}, headers=_auth(tokens["leader"]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["by"] == "department"
    assert body["period"] == {"text": "2026-11", "first": "2026-11-01", "last": "2026-11-30"}
    assert body["synthetic_cases"] == 1
    assert body["weights"]["handled_on_time_rate"] == 0.25
    first = body["rows"][0]
    assert (first["key"], first["rank"], first["composite"]) == ("ev-urban", 1, URBAN_COMPOSITE)
    assert first["counts"]["reported"] == 3
    assert first["rates"]["closure_rate"] == pytest.approx(1 / 3)
    real = client.get(
        API,
        params={"period": "2026-11", "by": "community", "include_synthetic": "false"},
        headers=_auth(tokens["leader"]),
    ).json()
    assert [row["key"] for row in real["rows"]] == [SOUTHEAST, SOUTHWEST, NORTHWEST]
    assert real["synthetic_cases"] == 0


def test_the_api_refuses_a_citizen_and_a_bad_period_or_grouping(
    client: TestClient, book: Book, tokens: dict[str, str]
) -> None:
    refused = client.get(API, params={"period": "2026-11"}, headers=_auth(tokens["citizen"]))
    assert refused.status_code == 403
    bad = client.get(API, params={"period": "2026-13"}, headers=_auth(tokens["leader"]))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.period"
    grouping = client.get(API, params={"by": "street"}, headers=_auth(tokens["leader"]))
    assert grouping.status_code == 422
    assert grouping.json()["errors"][0]["field"] == "query.by"
    assert client.get(f"{API}.xlsx", headers=_auth(tokens["citizen"])).status_code == 403


def test_the_api_exports_the_ranking_to_excel(
    client: TestClient, book: Book, tokens: dict[str, str]
) -> None:
    answer = client.get(
        f"{API}.xlsx",
        params={"period": "2026-11", "by": "subdistrict"},
        headers=_auth(tokens["leader"]),
    )
    assert answer.status_code == 200, answer.text
    assert "cityos-evaluation-subdistrict-2026-11.xlsx" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content))["考核排名 Ranking"]
    keys = [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert keys == [EAST, WEST, None]


def test_a_plain_string_names_the_grouping_too(session: Session, book: Book) -> None:
    by_text = evaluate(session, period=NOVEMBER, by="department")  # type: ignore[arg-type]
    assert set(_rows(by_text)) == {"ev-water", "ev-urban", None}
