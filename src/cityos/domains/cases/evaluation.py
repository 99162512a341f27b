"""Performance evaluation (考核评价) of case handling, per department, subdistrict, community
or category over a period, with the 数字城管 indicators and a weighted composite score.

The cases counted are those *created* in the period (Asia/Shanghai calendar days), merged
duplicates (``master_case_id`` set) left out, and synthetic ones too unless asked for. Per
group, with a zero denominator giving no value (null) rather than 0 or 1:

- reported: every case counted;
- 立案率 registration rate = registered (``registered_at`` set) / reported;
- 派遣准确率 dispatch accuracy = 1 − Σ ``returned_count`` / dispatched (``dispatched_at``
  set), floored at 0 when a unit sent back more than it was sent;
- 按期签收率 signed on time = ``signed_on_time`` true / signed (``signed_on_time`` not null);
- 按期处置率 handled on time = ``handled_on_time`` true / handled (not null);
- 结案率 closure rate = closed (``closed_at`` set and status ``closed``) / registered;
- 按期结案率 closed on time = closed with ``closed_on_time`` true / closed;
- 返工率 rework rate = Σ ``rework_count`` / resolved (``resolved_at`` set);
- 延期率 extension rate = cases with ``extension_count`` > 0 / dispatched;
- average handling hours = mean of ``handling_seconds`` / 3600 over the cases that have it;
- 满意率 satisfaction rate = ``satisfaction`` ≥ 4 / rated (``satisfaction`` not null);
- composite = 100 × Σ weight × score / Σ weight, the weights from the profile's
  ``packs/cases/evaluation.yaml`` (summing to 1). Rates where lower is better (返工率,
  延期率) score as 1 − rate, floored at 0. An indicator with no value drops out and the
  composite re-normalises over the weights of those that have one; no value at all, no
  composite.

Rows rank by composite, highest first (ties share a rank); a row with no composite, or
for cases with no department, subdistrict, community or category yet, is shown unranked.
Every count comes from one grouped aggregate over ``city_case``; names are read after.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from cityos.domains.cases.models import Case, CaseCategory
from cityos.foundation.geo.models import Region
from cityos.foundation.identity.authz import Actor, scoped
from cityos.foundation.identity.models import Department
from cityos.kernel.clock import SHANGHAI
from cityos.kernel.profiles import ProfileContext
from cityos.kernel.registry import ProfileSection
from cityos.kernel.system.models import District

# Where the loaded weights live: the district's settings, beside its office hours.
WEIGHTS_SETTING = "evaluation_weights"


class By(StrEnum):
    """What the rows are."""

    DEPARTMENT = "department"
    SUBDISTRICT = "subdistrict"
    COMMUNITY = "community"
    CATEGORY = "category"


class Indicator(StrEnum):
    """The rates a composite may weigh."""

    REGISTRATION = "registration_rate"
    DISPATCH_ACCURACY = "dispatch_accuracy"
    SIGNED_ON_TIME = "signed_on_time_rate"
    HANDLED_ON_TIME = "handled_on_time_rate"
    CLOSURE = "closure_rate"
    CLOSED_ON_TIME = "closed_on_time_rate"
    REWORK = "rework_rate"
    EXTENSION = "extension_rate"
    SATISFACTION = "satisfaction_rate"


INDICATOR_NAMES: dict[Indicator, tuple[str, str]] = {
    Indicator.REGISTRATION: ("立案率", "Registration rate"),
    Indicator.DISPATCH_ACCURACY: ("派遣准确率", "Dispatch accuracy"),
    Indicator.SIGNED_ON_TIME: ("按期签收率", "Signed-on-time rate"),
    Indicator.HANDLED_ON_TIME: ("按期处置率", "Handled-on-time rate"),
    Indicator.CLOSURE: ("结案率", "Closure rate"),
    Indicator.CLOSED_ON_TIME: ("按期结案率", "Closed-on-time rate"),
    Indicator.REWORK: ("返工率", "Rework rate"),
    Indicator.EXTENSION: ("延期率", "Extension rate"),
    Indicator.SATISFACTION: ("满意率", "Satisfaction rate"),
}
# Lower is better: the composite scores these as 1 − rate.
_INVERTED = frozenset({Indicator.REWORK, Indicator.EXTENSION})

# For a district whose profile has no evaluation.yaml: the weights Luohu ships.
DEFAULT_WEIGHTS: dict[Indicator, float] = {
    Indicator.HANDLED_ON_TIME: 0.25,
    Indicator.CLOSED_ON_TIME: 0.2,
    Indicator.SATISFACTION: 0.2,
    Indicator.DISPATCH_ACCURACY: 0.1,
    Indicator.SIGNED_ON_TIME: 0.1,
    Indicator.CLOSURE: 0.1,
    Indicator.REWORK: 0.05,
}

_DATE = r"\d{4}-\d{2}-\d{2}"
_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(_DATE)
_RANGE = re.compile(rf"({_DATE})\.\.({_DATE})")


def _month(year: int, month: int) -> tuple[date, date]:
    if not 1 <= month <= 12:
        raise ValueError(f"{year}-{month:02d} is not a month")
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a day of the calendar") from None


@dataclass(frozen=True)
class Period:
    """Calendar days in Asia/Shanghai, ``first`` to ``last`` inclusive, and how they were
    asked for."""

    text: str
    first: date
    last: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026``, ``2026-Q4``, ``2026-11``, ``2026-11-03`` or ``2026-11-01..2026-11-15``
        (both ends included); ValueError saying what is wrong otherwise."""
        given = text.strip()
        if m := _YEAR.fullmatch(given):
            year = int(m[1])
            return cls(given, date(year, 1, 1), date(year, 12, 31))
        if m := _QUARTER.fullmatch(given):
            year, quarter = int(m[1]), int(m[2])
            return cls(
                f"{year}-Q{quarter}", _month(year, 3 * quarter - 2)[0], _month(year, 3 * quarter)[1]
            )
        if m := _MONTH.fullmatch(given):
            return cls(given, *_month(int(m[1]), int(m[2])))
        if _DAY.fullmatch(given):
            day = _day(given)
            return cls(given, day, day)
        if m := _RANGE.fullmatch(given):
            first, last = _day(m[1]), _day(m[2])
            if last < first:
                raise ValueError(f"{given!r} ends before it starts")
            return cls(given, first, last)
        raise ValueError(
            f"{given!r} is not a period: use 2026, 2026-Q4, 2026-11, 2026-11-03 "
            "or 2026-11-01..2026-11-15"
        )

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC instants: from its first Shanghai midnight, up to (not
        including) the midnight after its last day."""
        start = datetime.combine(self.first, time(), SHANGHAI)
        end = datetime.combine(self.last + timedelta(days=1), time(), SHANGHAI)
        return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class Counts:
    """What one group's cases add up to; every field adds across groups."""

    reported: int = 0
    synthetic: int = 0
    registered: int = 0
    dispatched: int = 0
    returned: int = 0
    signed: int = 0
    signed_on_time: int = 0
    handled: int = 0
    handled_on_time: int = 0
    closed: int = 0
    closed_on_time: int = 0
    resolved: int = 0
    reworked: int = 0
    extended: int = 0
    timed: int = 0
    handling_seconds: int = 0
    rated: int = 0
    satisfied: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True)
class Rates:
    """The indicators of one group, each a fraction from 0 to 1 (or more, for rework), or
    None where nothing was there to measure."""

    registration_rate: float | None
    dispatch_accuracy: float | None
    signed_on_time_rate: float | None
    handled_on_time_rate: float | None
    closure_rate: float | None
    closed_on_time_rate: float | None
    rework_rate: float | None
    extension_rate: float | None
    satisfaction_rate: float | None
    average_handling_hours: float | None


@dataclass(frozen=True)
class EvaluationRow:
    """One department, subdistrict, community or category (``key`` None: none yet)."""

    key: str | None
    name_zh: str
    name_en: str
    counts: Counts
    rates: Rates
    composite: float | None
    rank: int | None


@dataclass(frozen=True)
class Evaluation:
    """Rows best first, the district's total, and what they were computed with.
    ``synthetic_cases`` says how many of the cases counted are generated demo history."""

    period: Period
    by: By
    include_synthetic: bool
    weights: dict[Indicator, float]
    rows: list[EvaluationRow]
    total: EvaluationRow
    synthetic_cases: int


class EvaluationFile(BaseModel):
    """``packs/cases/evaluation.yaml``: the weight of each indicator in the composite."""

    model_config = ConfigDict(extra="forbid")

    weights: dict[Indicator, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> EvaluationFile:
        negative = [str(k) for k, w in self.weights.items() if w <= 0]
        if negative:
            raise ValueError(f"weights must be above 0: {', '.join(negative)}")
        total = sum(Fraction(str(w)) for w in self.weights.values())
        if total != 1:
            raise ValueError(f"weights must sum to 1, not {float(total):g}")
        return self


def _load_weights(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    (document,) = documents
    assert isinstance(document, EvaluationFile)
    # The district section (order 0) has written the row and its settings by now.
    district = session.scalars(select(District).limit(1)).one()
    weights = {str(k): w for k, w in document.weights.items()}
    if district.settings.get(WEIGHTS_SETTING) != weights:
        district.settings = {**district.settings, WEIGHTS_SETTING: weights}
        context.count("evaluation_weights")
    session.flush()


evaluation_section = ProfileSection(
    name="cases-evaluation",
    files=("packs/cases/evaluation.yaml",),
    schema=EvaluationFile,
    load=_load_weights,
    order=162,
    required=False,
)


def loaded_weights(session: Session) -> dict[Indicator, float]:
    """The weights the profile loaded, or ``DEFAULT_WEIGHTS`` if it had none."""
    district = session.scalars(select(District).limit(1)).first()
    stored = (district.settings if district else {}).get(WEIGHTS_SETTING)
    if not stored:
        return dict(DEFAULT_WEIGHTS)
    return {Indicator(k): float(w) for k, w in stored.items()}


_GROUP_COLUMN = {
    By.DEPARTMENT: Case.lead_department_id,
    By.SUBDISTRICT: Case.subdistrict_code,
    By.COMMUNITY: Case.community_code,
    By.CATEGORY: Case.category_code,
}


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count().filter(condition)


def _sum(column: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0)


def _aggregate(by: By) -> Select[*tuple[Any, ...]]:
    closed = and_(Case.closed_at.is_not(None), Case.status == "closed")
    return select(
        _GROUP_COLUMN[by].label("key"),
        func.count().label("reported"),
        _count(Case.synthetic.is_(True)).label("synthetic"),
        func.count(Case.registered_at).label("registered"),
        func.count(Case.dispatched_at).label("dispatched"),
        _sum(Case.returned_count).label("returned"),
        func.count(Case.signed_on_time).label("signed"),
        _count(Case.signed_on_time.is_(True)).label("signed_on_time"),
        func.count(Case.handled_on_time).label("handled"),
        _count(Case.handled_on_time.is_(True)).label("handled_on_time"),
        _count(closed).label("closed"),
        _count(and_(closed, Case.closed_on_time.is_(True))).label("closed_on_time"),
        func.count(Case.resolved_at).label("resolved"),
        _sum(Case.rework_count).label("reworked"),
        _count(Case.extension_count > 0).label("extended"),
        func.count(Case.handling_seconds).label("timed"),
        _sum(Case.handling_seconds).label("handling_seconds"),
        func.count(Case.satisfaction).label("rated"),
        _count(Case.satisfaction >= 4).label("satisfied"),
    ).group_by(_GROUP_COLUMN[by])


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def _exact_rates(counts: Counts) -> dict[Indicator, Fraction | None]:
    returned = _ratio(counts.returned, counts.dispatched)
    return {
        Indicator.REGISTRATION: _ratio(counts.registered, counts.reported),
        Indicator.DISPATCH_ACCURACY: None if returned is None else max(Fraction(0), 1 - returned),
        Indicator.SIGNED_ON_TIME: _ratio(counts.signed_on_time, counts.signed),
        Indicator.HANDLED_ON_TIME: _ratio(counts.handled_on_time, counts.handled),
        Indicator.CLOSURE: _ratio(counts.closed, counts.registered),
        Indicator.CLOSED_ON_TIME: _ratio(counts.closed_on_time, counts.closed),
        Indicator.REWORK: _ratio(counts.reworked, counts.resolved),
        Indicator.EXTENSION: _ratio(counts.extended, counts.dispatched),
        Indicator.SATISFACTION: _ratio(counts.satisfied, counts.rated),
    }


def _composite(
    rates: Mapping[Indicator, Fraction | None], weights: Mapping[Indicator, float]
) -> float | None:
    scored = Fraction(0)
    weighed = Fraction(0)
    for indicator, weight in weights.items():
        rate = rates[indicator]
        if rate is None:
            continue
        score = max(Fraction(0), 1 - rate) if indicator in _INVERTED else rate
        w = Fraction(str(weight))
        scored += w * score
        weighed += w
    if not weighed:
        return None
    return round(float(100 * scored / weighed), 2)


def _row(
    key: str | None,
    names: tuple[str, str],
    counts: Counts,
    weights: Mapping[Indicator, float],
) -> EvaluationRow:
    exact = _exact_rates(counts)
    hours = _ratio(counts.handling_seconds, counts.timed * 3600)
    rates = Rates(
        **{str(k): None if v is None else float(v) for k, v in exact.items()},
        average_handling_hours=None if hours is None else float(hours),
    )
    return EvaluationRow(
        key=key,
        name_zh=names[0],
        name_en=names[1],
        counts=counts,
        rates=rates,
        composite=_composite(exact, weights),
        rank=None,
    )


_NO_KEY = {
    By.DEPARTMENT: ("（未派遣）", "(not dispatched)"),
    By.SUBDISTRICT: ("（未定位）", "(not placed)"),
    By.COMMUNITY: ("（未定位）", "(not placed)"),
    By.CATEGORY: ("（未分类）", "(not categorised)"),
}


def _names(session: Session, by: By, keys: Sequence[Any]) -> dict[Any, tuple[str | None, str, str]]:
    """Each group key's (shown key, zh name, en name): a department by its code."""
    present = [k for k in keys if k is not None]
    if not present:
        return {}
    if by is By.DEPARTMENT:
        departments = session.execute(
            select(Department.id, Department.code, Department.name_zh, Department.name_en).where(
                Department.id.in_(present)
            )
        )
        return {d.id: (d.code, d.name_zh, d.name_en) for d in departments}
    if by is By.CATEGORY:
        categories = session.execute(
            select(CaseCategory.code, CaseCategory.name_zh, CaseCategory.name_en).where(
                CaseCategory.code.in_(present)
            )
        )
        return {c.code: (c.code, c.name_zh, c.name_en) for c in categories}
    regions = session.execute(
        select(Region.code, Region.name_zh, Region.name_en).where(Region.code.in_(present))
    )
    return {r.code: (r.code, r.name_zh, r.name_en) for r in regions}


def _ranked(rows: list[EvaluationRow]) -> list[EvaluationRow]:
    """Best composite first, equal composites sharing a rank (1, 2, 2, 4); unranked last."""
    rankable = [r for r in rows if r.key is not None and r.composite is not None]
    rankable.sort(key=lambda r: (-(r.composite or 0), r.key or ""))
    ranked: list[EvaluationRow] = []
    for position, row in enumerate(rankable, start=1):
        tied = ranked and ranked[-1].composite == row.composite
        rank = ranked[-1].rank if tied else position
        ranked.append(replace(row, rank=rank))
    rest = [r for r in rows if r.key is None or r.composite is None]
    rest.sort(key=lambda r: (r.key is None, r.key or ""))
    return ranked + rest


def evaluate(
    session: Session,
    *,
    period: Period,
    by: By,
    include_synthetic: bool = True,
    actor: Actor | None = None,
    weights: Mapping[Indicator, float] | None = None,
) -> Evaluation:
    """The indicators of every group over ``period``, ranked by composite.

    ``actor`` narrows the cases to those their ``cases.evaluate`` grants reach (by region,
    and unit where a grant names one); ``weights`` default to the profile's.
    """
    by = By(by)  # a plain "department" too: the groups below compare by identity
    used = dict(weights) if weights is not None else loaded_weights(session)
    start, end = period.bounds()
    stmt = _aggregate(by).where(
        Case.created_at >= start, Case.created_at < end, Case.master_case_id.is_(None)
    )
    if not include_synthetic:
        stmt = stmt.where(Case.synthetic.is_(False))
    if actor is not None:
        stmt = scoped(
            stmt,
            actor,
            region_column=Case.region_code,
            department_column=Case.lead_department_id,
            permission="cases.evaluate",
        )
    grouped = session.execute(stmt).all()
    names = _names(session, by, [g.key for g in grouped])
    rows: list[EvaluationRow] = []
    total = Counts()
    for group in grouped:
        counts = Counts(**{f.name: int(getattr(group, f.name)) for f in fields(Counts)})
        total += counts
        if group.key is None:
            shown, zh, en = None, *_NO_KEY[by]
        else:
            # A code no longer in the catalogue or geography still gets its row.
            fallback = str(group.key)
            shown, zh, en = names.get(group.key, (fallback, fallback, fallback))
        rows.append(_row(shown, (zh, en), counts, used))
    return Evaluation(
        period=period,
        by=by,
        include_synthetic=include_synthetic,
        weights=used,
        rows=_ranked(rows),
        total=_row(None, ("合计", "Total"), total, used),
        synthetic_cases=total.synthetic,
    )


_COUNT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("reported", "受理数", "Reported"),
    ("registered", "立案数", "Registered"),
    ("dispatched", "派遣数", "Dispatched"),
    ("returned", "退回次数", "Returns"),
    ("signed_on_time", "按期签收数", "Signed on time"),
    ("handled_on_time", "按期处置数", "Handled on time"),
    ("closed", "结案数", "Closed"),
    ("closed_on_time", "按期结案数", "Closed on time"),
    ("reworked", "返工次数", "Reworks"),
    ("extended", "延期数", "Extended"),
    ("rated", "评价数", "Rated"),
    ("satisfied", "满意数", "Satisfied"),
    ("synthetic", "演示数据数", "Synthetic"),
)
_RATE_COLUMNS: tuple[tuple[str, str, str], ...] = tuple(
    (str(indicator), zh, en) for indicator, (zh, en) in INDICATOR_NAMES.items()
)


def export_xlsx(evaluation: Evaluation, path: Path) -> int:
    """Write the evaluation to an Excel file: the ranking (two header rows, Chinese then
    English, the total last) and a sheet saying what it covers; return the rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("考核排名 Ranking")
    sheet.freeze_panes = "E3"
    head = [("排名", "Rank"), ("编码", "Code"), ("名称", "Name (zh)"), ("名称（英文）", "Name")]
    head += [(zh, en) for _, zh, en in _COUNT_COLUMNS]
    head += [(zh, en) for _, zh, en in _RATE_COLUMNS]
    head += [("平均处置时长（小时）", "Average handling hours"), ("综合得分", "Composite")]
    sheet.append([zh for zh, _ in head])
    sheet.append([en for _, en in head])

    def cell(value: Any, number_format: str | None = None) -> Any:
        written = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            # A name is text, never a formula.
            written.data_type = "s"
        if number_format and value is not None:
            written.number_format = number_format
        return written

    for row in [*evaluation.rows, evaluation.total]:
        sheet.append(
            [
                cell(row.rank),
                cell(row.key),
                cell(row.name_zh),
                cell(row.name_en),
                *[cell(getattr(row.counts, name)) for name, _, _ in _COUNT_COLUMNS],
                *[cell(getattr(row.rates, name), "0.00%") for name, _, _ in _RATE_COLUMNS],
                cell(row.rates.average_handling_hours, "0.00"),
                cell(row.composite, "0.00"),
            ]
        )
    about = book.create_sheet("说明 About")
    about.append(["期间 Period", evaluation.period.text])
    about.append(["起 From", evaluation.period.first.isoformat()])
    about.append(["止 To", evaluation.period.last.isoformat()])
    about.append(["维度 By", str(evaluation.by)])
    about.append(
        ["含演示数据 Synthetic included", "是 yes" if evaluation.include_synthetic else "否 no"]
    )
    about.append(["演示数据案件数 Synthetic cases", evaluation.synthetic_cases])
    for indicator, weight in evaluation.weights.items():
        zh, en = INDICATOR_NAMES[indicator]
        about.append([f"权重 {zh} Weight: {en}", weight])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return len(evaluation.rows)


__all__ = [
    "DEFAULT_WEIGHTS",
    "INDICATOR_NAMES",
    "By",
    "Counts",
    "Evaluation",
    "EvaluationFile",
    "EvaluationRow",
    "Indicator",
    "Period",
    "Rates",
    "evaluate",
    "evaluation_section",
    "export_xlsx",
    "loaded_weights",
]
