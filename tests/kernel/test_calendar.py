"""The working-day calendar: Chinese holidays, office hours, deadlines, unknown years."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.kernel.calendar import (
    ADMIN_SOURCE,
    DayKind,
    WorkingCalendar,
    coverage_message,
    coverage_warnings,
    load_calendar,
    set_days,
)
from cityos.kernel.calendar.models import CalendarDay
from cityos.kernel.clock import SHANGHAI
from cityos.kernel.errors import ValidationFailed


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock instant."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


# --- which days are worked ------------------------------------------------------------------


def test_spring_festival_2026_follows_the_package(calendar: WorkingCalendar) -> None:
    holidays = days(date(2026, 2, 15), date(2026, 2, 23))
    adjusted = [date(2026, 2, 14), date(2026, 2, 28)]
    # The expectations below are the published arrangement; check the package agrees first,
    # so a data change shows up as a data change and not as a bug in our arithmetic.
    assert not any(chinese_calendar.is_workday(d) for d in holidays)
    assert all(chinese_calendar.is_workday(d) for d in adjusted)

    assert not any(calendar.is_workday(d) for d in holidays)
    assert all(calendar.is_workday(d) for d in adjusted)
    assert [d.weekday() for d in adjusted] == [5, 5]
    assert calendar.is_workday(date(2026, 2, 13))
    assert calendar.is_workday(date(2026, 2, 24))
    assert not calendar.is_workday(date(2026, 3, 1))


def test_national_day_2025_follows_the_package(calendar: WorkingCalendar) -> None:
    holidays = days(date(2025, 10, 1), date(2025, 10, 8))
    adjusted = [date(2025, 9, 28), date(2025, 10, 11)]
    assert not any(chinese_calendar.is_workday(d) for d in holidays)
    assert all(chinese_calendar.is_workday(d) for d in adjusted)

    assert not any(calendar.is_workday(d) for d in holidays)
    assert all(calendar.is_workday(d) for d in adjusted)
    assert [d.weekday() for d in adjusted] == [6, 5]
    assert not calendar.is_workday(date(2025, 9, 27))
    assert calendar.is_workday(date(2025, 10, 9))


def test_a_datetime_is_judged_by_its_shanghai_date(calendar: WorkingCalendar) -> None:
    # 2026-02-14 17:00 UTC is already Sunday the 15th, a holiday, in Shanghai.
    assert calendar.is_workday(datetime(2026, 2, 14, 15, 0, tzinfo=UTC))
    assert not calendar.is_workday(datetime(2026, 2, 14, 17, 0, tzinfo=UTC))


def test_overrides_take_precedence_over_the_package() -> None:
    calendar = WorkingCalendar(
        overrides={date(2026, 2, 24): DayKind.HOLIDAY, date(2026, 2, 22): "workday"}
    )
    assert not calendar.is_workday(date(2026, 2, 24))
    assert calendar.is_workday(date(2026, 2, 22))
    assert calendar.is_workday(date(2026, 2, 25))


# --- working days -----------------------------------------------------------------------------


def test_one_working_day_is_the_same_time_on_the_next_workday(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at(2025, 3, 17, 10, 30), 1) == at(2025, 3, 18, 10, 30)
    assert calendar.add_working_days(at(2025, 3, 21, 10, 30), 1) == at(2025, 3, 24, 10, 30)


def test_an_adjusted_saturday_counts_as_a_working_day(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at(2026, 2, 13, 10, 30), 1) == at(2026, 2, 14, 10, 30)


def test_working_days_skip_the_spring_festival(calendar: WorkingCalendar) -> None:
    start = at(2026, 2, 13, 10, 30)
    assert calendar.add_working_days(start, 2) == at(2026, 2, 24, 10, 30)
    assert calendar.add_working_days(start, 5) == at(2026, 2, 27, 10, 30)
    assert calendar.add_working_days(start, 6) == at(2026, 2, 28, 10, 30)


def test_working_days_skip_national_day(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at(2025, 9, 30, 10, 0), 1) == at(2025, 10, 9, 10, 0)
    assert calendar.add_working_days(at(2025, 9, 30, 10, 0), 3) == at(2025, 10, 11, 10, 0)


def test_registered_on_a_saturday_counting_starts_at_the_next_opening(
    calendar: WorkingCalendar,
) -> None:
    # Monday 09:00 plus one day of office time runs out at Monday's close.
    assert calendar.add_working_days(at(2025, 3, 15, 11, 0), 1) == at(2025, 3, 17, 18, 0)
    assert calendar.add_working_days(at(2025, 3, 15, 11, 0), 2) == at(2025, 3, 18, 18, 0)
    # 2025-09-27 is a Saturday off; the Sunday after is an adjusted workday.
    assert calendar.add_working_days(at(2025, 9, 27, 11, 0), 1) == at(2025, 9, 28, 18, 0)


def test_registered_in_the_evening_or_at_lunch(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at(2025, 3, 18, 20, 0), 2) == at(2025, 3, 20, 18, 0)
    assert calendar.add_working_days(at(2025, 3, 18, 7, 0), 1) == at(2025, 3, 18, 18, 0)
    assert calendar.add_working_days(at(2025, 3, 18, 12, 30), 1) == at(2025, 3, 19, 12, 0)


def test_zero_working_days_is_the_start_itself(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at(2025, 3, 15, 11, 0), 0) == at(2025, 3, 15, 11, 0)
    with pytest.raises(ValueError, match="negative"):
        calendar.add_working_days(at(2025, 3, 15, 11, 0), -1)


# --- working hours ----------------------------------------------------------------------------


def test_working_hours_skip_the_lunch_break(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_hours(at(2025, 3, 17, 11, 0), 2) == at(2025, 3, 17, 15, 0)
    assert calendar.add_working_hours(at(2025, 3, 17, 11, 0), 1) == at(2025, 3, 17, 12, 0)


def test_working_hours_run_overnight(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_hours(at(2025, 3, 17, 17, 0), 2) == at(2025, 3, 18, 10, 0)
    assert calendar.add_working_hours(at(2025, 3, 17, 17, 0), 1) == at(2025, 3, 17, 18, 0)
    assert calendar.add_working_hours(at(2025, 3, 17, 17, 0), timedelta(minutes=90)) == at(
        2025, 3, 18, 9, 30
    )


def test_working_hours_skip_a_holiday(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_hours(at(2025, 9, 30, 17, 0), 2) == at(2025, 10, 9, 10, 0)
    assert calendar.add_working_hours(at(2026, 2, 14, 17, 30), 0.5) == at(2026, 2, 14, 18, 0)
    assert calendar.add_working_hours(at(2026, 2, 14, 17, 30), 1.5) == at(2026, 2, 24, 10, 0)


def test_working_hours_from_outside_office_hours(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_hours(at(2025, 3, 15, 9, 0), 4) == at(2025, 3, 17, 15, 0)
    assert calendar.add_working_hours(at(2025, 3, 17, 12, 30), 1) == at(2025, 3, 17, 15, 0)
    assert calendar.add_working_hours(at(2025, 3, 17, 6, 0), 3) == at(2025, 3, 17, 12, 0)


def test_next_working_instant(calendar: WorkingCalendar) -> None:
    assert calendar.next_working_instant(at(2025, 3, 17, 10, 0)) == at(2025, 3, 17, 10, 0)
    assert calendar.next_working_instant(at(2025, 3, 17, 12, 0)) == at(2025, 3, 17, 14, 0)
    assert calendar.next_working_instant(at(2025, 3, 17, 18, 0)) == at(2025, 3, 18, 9, 0)
    assert calendar.next_working_instant(at(2025, 3, 15, 10, 0)) == at(2025, 3, 17, 9, 0)
    assert calendar.next_working_instant(at(2025, 9, 30, 19, 0)) == at(2025, 10, 9, 9, 0)


def test_working_time_between(calendar: WorkingCalendar) -> None:
    assert calendar.working_time_between(at(2025, 3, 17, 10), at(2025, 3, 18, 10)) == timedelta(
        hours=7
    )
    assert calendar.working_time_between(at(2025, 3, 17, 11), at(2025, 3, 17, 15)) == timedelta(
        hours=2
    )
    # Friday, the adjusted Saturday, then nothing until Tuesday the 24th.
    assert calendar.working_time_between(at(2026, 2, 13, 9), at(2026, 2, 24, 9)) == timedelta(
        hours=14
    )
    assert calendar.working_time_between(at(2025, 3, 18, 10), at(2025, 3, 17, 10)) == -timedelta(
        hours=7
    )
    assert calendar.working_time_between(at(2025, 3, 15), at(2025, 3, 16, 23)) == timedelta()


def test_working_time_between_undoes_adding_it(calendar: WorkingCalendar) -> None:
    start = at(2025, 9, 26, 16, 45)
    for hours in (0.25, 3, 7, 20, 45.5):
        due = calendar.add_working_hours(start, hours)
        assert calendar.working_time_between(start, due) == timedelta(hours=hours)


def test_times_are_aware_and_answers_in_utc(calendar: WorkingCalendar) -> None:
    due = calendar.add_working_days(datetime(2025, 3, 17, 2, 30, tzinfo=UTC), 1)
    assert due.tzinfo is UTC
    assert due == datetime(2025, 3, 18, 2, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.add_working_hours(datetime(2025, 3, 17, 10, 0), 1)


def test_custom_office_hours() -> None:
    calendar = WorkingCalendar(office_hours=[(time(14, 30), time(18)), (time(8, 30), time(12))])
    assert calendar.office_hours == ((time(8, 30), time(12)), (time(14, 30), time(18)))
    assert calendar.working_day == timedelta(hours=7)
    assert calendar.add_working_hours(at(2025, 3, 17, 11), 2) == at(2025, 3, 17, 15, 30)
    with pytest.raises(ValueError, match="overlap"):
        WorkingCalendar(office_hours=[(time(9), time(12)), (time(11), time(13))])
    with pytest.raises(ValueError, match="before it ends"):
        WorkingCalendar(office_hours=[(time(18), time(9))])
    with pytest.raises(ValueError, match="at least one"):
        WorkingCalendar(office_hours=[])


# --- years nobody has told us about -----------------------------------------------------------


def test_a_deadline_into_an_unknown_year_counts_weekends_and_warns(
    calendar: WorkingCalendar,
) -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 1))
    assert calendar.unknown_years == frozenset()

    # Dec 31 (1), Fri Jan 1 2027 (2: a weekday, nothing says otherwise), Mon Jan 4 (3).
    assert calendar.add_working_days(at(2026, 12, 30, 10), 3) == at(2027, 1, 4, 10)
    assert calendar.unknown_years == {2027}
    assert calendar.coverage_warnings([2026, 2027]) == [coverage_message(2027)]
    assert coverage_message(2027) == (
        "2027 年节假日安排尚未配置，期限暂按周末计算；请管理员录入国务院办公厅公布的放假安排"
    )
    assert calendar.coverage_warnings([2027], locale="en") == [coverage_message(2027, "en")]
    assert coverage_message(2027, "en").startswith(
        "Holidays for 2027 are not configured; deadlines count weekends only"
    )


def test_profile_days_make_a_year_known(calendar: WorkingCalendar) -> None:
    configured = WorkingCalendar(overrides={date(2027, 1, 1): DayKind.HOLIDAY})
    assert configured.add_working_days(at(2026, 12, 30, 10), 3) == at(2027, 1, 5, 10)
    assert configured.unknown_years == frozenset()
    assert configured.coverage_warnings([2026, 2027]) == []
    assert configured.coverage_warnings([2027, 2028]) == [coverage_message(2028)]


def test_far_future_years_never_crash(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(at(2031, 6, 6, 10), 1) == at(2031, 6, 9, 10)
    assert calendar.working_time_between(at(2030, 1, 1), at(2031, 1, 1)) > timedelta()
    assert calendar.unknown_years == {2030, 2031}


# --- storage ----------------------------------------------------------------------------------

PROFILE_2027 = [
    (date(2027, 1, 1), "holiday", "元旦"),
    (date(2027, 2, 6), "holiday", "春节"),
    (date(2027, 2, 20), "workday", "春节"),
]


def test_stored_days_reach_the_calendar(session: Session) -> None:
    assert set_days(session, days=PROFILE_2027, source="luohu") == 3
    calendar = load_calendar(session)
    assert not calendar.is_workday(date(2027, 1, 1))
    assert calendar.is_workday(date(2027, 2, 20))
    assert calendar.add_working_days(at(2026, 12, 30, 10), 3) == at(2027, 1, 5, 10)
    assert calendar.unknown_years == frozenset()


def test_loading_the_same_days_twice_changes_nothing(session: Session) -> None:
    set_days(session, days=PROFILE_2027, source="luohu")
    before = {row.day: row.updated_at for row in session.scalars(select(CalendarDay))}
    assert set_days(session, days=PROFILE_2027, source="luohu") == 0
    after = {row.day: row.updated_at for row in session.scalars(select(CalendarDay))}
    assert after == before


def test_a_source_is_replaced_as_a_whole(session: Session) -> None:
    set_days(session, days=PROFILE_2027, source="luohu")
    changed = set_days(
        session,
        days=[(date(2027, 1, 1), "holiday", "元旦"), (date(2027, 2, 7), "holiday", "春节")],
        source="luohu",
    )
    assert changed == 3  # two removed, one added
    stored = {row.day: row.kind for row in session.scalars(select(CalendarDay))}
    assert stored == {date(2027, 1, 1): "holiday", date(2027, 2, 7): "holiday"}
    assert set_days(session, days=[], source="luohu") == 2
    assert session.scalars(select(CalendarDay)).all() == []


def test_an_admin_day_outranks_the_profile(session: Session) -> None:
    set_days(session, days=PROFILE_2027, source="luohu")
    assert set_days(session, days=[(date(2027, 1, 1), "workday", "值班")], source=ADMIN_SOURCE) == 1
    # Reloading the profile leaves the admin's answer alone.
    assert set_days(session, days=PROFILE_2027, source="luohu") == 0
    assert load_calendar(session).is_workday(date(2027, 1, 1))
    # Withdrawn by the admin, the profile's answer comes back on its next load.
    assert set_days(session, days=[], source=ADMIN_SOURCE) == 1
    assert set_days(session, days=PROFILE_2027, source="luohu") == 1
    assert not load_calendar(session).is_workday(date(2027, 1, 1))


def test_bad_days_are_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="kind"):
        set_days(session, days=[(date(2027, 1, 1), "vacation", "元旦")], source="luohu")
    with pytest.raises(ValidationFailed, match="twice"):
        set_days(
            session,
            days=[(date(2027, 1, 1), "holiday", "元旦"), (date(2027, 1, 1), "workday", "")],
            source="luohu",
        )
    with pytest.raises(ValidationFailed, match="source"):
        set_days(session, days=[], source="")


def test_coverage_warnings_look_at_this_year_and_from_october_the_next(session: Session) -> None:
    spring = datetime(2026, 5, 8, 2, 0, tzinfo=UTC)
    assert coverage_warnings(session, now=spring) == []
    autumn = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)
    assert coverage_warnings(session, now=autumn) == [coverage_message(2027)]
    # 17:00 UTC on 31 December is already New Year's Day in Shanghai: 2027 is this year now.
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert coverage_warnings(session, now=new_year) == [coverage_message(2027)]
    set_days(session, days=PROFILE_2027, source="luohu")
    assert coverage_warnings(session, now=autumn) == []
    assert coverage_warnings(session, now=new_year) == []
