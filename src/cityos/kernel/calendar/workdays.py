"""Working time on the Chinese calendar: which days are worked, and deadline arithmetic.

Which days are holidays and which weekends are adjusted workdays (调休) comes from data, never
from code: first the override days (a district profile or an admin), then the
``chinesecalendar`` package for the years it knows (2004–2026 in 1.11.0). Only the
working-time arithmetic below is written by hand.

A year known to neither falls back to "Monday to Friday are workdays", and the calendar
records that it did (``unknown_years``) so a deadline computed across it can carry a warning.
A year counts as known from the overrides as soon as any override row falls in it: a profile
that lists 2027's holidays configures 2027, and the days it does not list follow the weekend
rule without a warning.

Times in, times out: every input is a timezone-aware datetime (any zone), every output is in
UTC. Office hours are wall-clock intervals in the calendar's zone (Asia/Shanghai).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import chinese_calendar

from cityos.kernel.clock import SHANGHAI

OfficeHours = Sequence[tuple[time, time]]

DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(9, 0), time(12, 0)),
    (time(14, 0), time(18, 0)),
)
_ONE_DAY = timedelta(days=1)


class DayKind(StrEnum):
    """What an override says about a day."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


def coverage_message(year: int, locale: str = "zh-CN") -> str:
    """The warning shown when ``year``'s holidays are unknown, in ``locale`` (zh-CN or en)."""
    if locale == "en":
        return (
            f"Holidays for {year} are not configured; deadlines count weekends only "
            "until an administrator enters the State Council's schedule"
        )
    return f"{year} 年节假日安排尚未配置，期限暂按周末计算；请管理员录入国务院办公厅公布的放假安排"


@lru_cache(maxsize=64)
def _package_knows(year: int) -> bool:
    # The package answers for a fixed range of years and raises NotImplementedError
    # outside it; asking it is the only way to learn that range through its public API.
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def holiday_name(day: date) -> str | None:
    """The package's English name of the statutory holiday on ``day`` ("Spring Festival"),
    or None: a working day, a plain weekend, or a year the package does not know."""
    if not _package_knows(day.year):
        return None
    is_holiday, name = chinese_calendar.get_holiday_detail(day)
    return str(name) if is_holiday and name else None


def _check_office_hours(office_hours: OfficeHours) -> tuple[tuple[time, time], ...]:
    periods = tuple(sorted(office_hours))
    if not periods:
        raise ValueError("office hours must contain at least one interval")
    for opens, closes in periods:
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise ValueError("office hours are local wall-clock times, without a zone")
        if not opens < closes:
            raise ValueError(f"office interval {opens}–{closes} must start before it ends")
    for (_, closes), (opens, _) in pairwise(periods):
        if opens < closes:
            raise ValueError(f"office intervals overlap at {opens}")
    return periods


class WorkingCalendar:
    """Workdays and office hours, and the deadline arithmetic built on them.

    Pure: it reads nothing but what it is given and the ``chinesecalendar`` package. The
    only state it keeps is the set of years it had to guess (``unknown_years``).
    """

    def __init__(
        self,
        *,
        overrides: Mapping[date, DayKind | str] | None = None,
        office_hours: OfficeHours | None = None,
        tz: ZoneInfo = SHANGHAI,
    ) -> None:
        self._overrides = {day: DayKind(kind) for day, kind in (overrides or {}).items()}
        self._override_years = frozenset(day.year for day in self._overrides)
        self._office_hours = _check_office_hours(
            DEFAULT_OFFICE_HOURS if office_hours is None else office_hours
        )
        self._tz = tz
        self._unknown_years: set[int] = set()

    @property
    def office_hours(self) -> tuple[tuple[time, time], ...]:
        """The office intervals of every workday, local time, sorted."""
        return self._office_hours

    @property
    def working_day(self) -> timedelta:
        """The office time in one working day (7 hours with the default hours)."""
        anyday = date.min
        return sum(
            (
                datetime.combine(anyday, closes) - datetime.combine(anyday, opens)
                for opens, closes in self._office_hours
            ),
            timedelta(),
        )

    @property
    def unknown_years(self) -> frozenset[int]:
        """Years this calendar has had to count by weekends alone so far."""
        return frozenset(self._unknown_years)

    def is_year_known(self, year: int) -> bool:
        """Whether ``year``'s holidays come from overrides or from the package."""
        return year in self._override_years or _package_knows(year)

    def coverage_warnings(self, years: Iterable[int], locale: str = "zh-CN") -> list[str]:
        """One message per year in ``years`` whose holidays are unknown, in year order."""
        known = self.is_year_known
        return [coverage_message(y, locale) for y in sorted(set(years)) if not known(y)]

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is worked. A datetime is taken as its local date."""
        if isinstance(day, datetime):
            day = self._local(day).date()
        override = self._overrides.get(day)
        if override is not None:
            return override is DayKind.WORKDAY
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._override_years:
                self._unknown_years.add(day.year)
            return day.weekday() < 5

    def next_working_instant(self, at: datetime) -> datetime:
        """``at`` itself if it falls in office time, otherwise the next opening."""
        cursor = self._utc(at)
        day = self._local(cursor).date()
        while True:
            if self.is_workday(day):
                for opens, closes in self._periods(day):
                    if cursor < closes:
                        return max(opens, cursor)
            day += _ONE_DAY

    def add_working_hours(self, start: datetime, hours: float | timedelta) -> datetime:
        """The earliest instant by which ``hours`` of office time have passed since ``start``.

        Time before the next opening does not count, so a start outside office hours begins
        at the next opening. The result can be a closing time (17:00 plus one hour is 18:00
        the same day, not 09:00 the next), because that is when the time runs out.
        """
        remaining = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
        if remaining < timedelta():
            raise ValueError("working time to add must not be negative")
        cursor = self._utc(start)
        if not remaining:
            return cursor
        day = self._local(cursor).date()
        while True:
            if self.is_workday(day):
                for opens, closes in self._periods(day):
                    begin = max(opens, cursor)
                    if begin >= closes:
                        continue
                    if remaining <= closes - begin:
                        return begin + remaining
                    remaining -= closes - begin
            day += _ONE_DAY

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The deadline ``days`` working days after ``start``.

        A working day is one day's office time, so this is ``add_working_hours`` with
        ``days`` × ``working_day``. In practice:

        * registered at 10:30 on a workday, 1 working day is due at 10:30 on the next
          workday (holidays skipped, adjusted Saturdays counted);
        * registered outside office hours (a Saturday, the evening, the lunch break),
          counting starts at the next opening, and a whole number of days ends at a
          closing: Saturday + 1 working day is due Monday 18:00, Tuesday 20:00 + 2 is due
          Thursday 18:00, 12:30 + 1 is due 12:00 on the next workday.
        """
        if days < 0:
            raise ValueError("working days to add must not be negative")
        return self.add_working_hours(start, self.working_day * days)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """The office time from ``a`` to ``b``; negative when ``b`` comes before ``a``."""
        a, b = self._utc(a), self._utc(b)
        if b < a:
            return -self.working_time_between(b, a)
        total = timedelta()
        day, last = self._local(a).date(), self._local(b).date()
        while day <= last:
            if self.is_workday(day):
                for opens, closes in self._periods(day):
                    begin, end = max(opens, a), min(closes, b)
                    if begin < end:
                        total += end - begin
            day += _ONE_DAY
        return total

    def _periods(self, day: date) -> list[tuple[datetime, datetime]]:
        # Built in local time and compared in UTC: subtracting two aware datetimes of the
        # same zone ignores offset changes, UTC does not.
        return [
            (
                datetime.combine(day, opens, self._tz).astimezone(UTC),
                datetime.combine(day, closes, self._tz).astimezone(UTC),
            )
            for opens, closes in self._office_hours
        ]

    def _local(self, value: datetime) -> datetime:
        return self._utc(value).astimezone(self._tz)

    @staticmethod
    def _utc(value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("the working calendar needs timezone-aware datetimes")
        return value.astimezone(UTC)
