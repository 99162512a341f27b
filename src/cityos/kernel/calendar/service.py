"""The stored override days: load them into a ``WorkingCalendar``, replace them per source.

Sources: a district profile writes its days under its own name (e.g. ``"luohu"``), an admin
under ``ADMIN_SOURCE``. The day is the table's key, so a date has one answer; an admin's
answer wins over a profile's, and a profile reload leaves an admin's days alone. When an
admin withdraws a day a profile had given, the profile's answer returns on its next load.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cityos.kernel.calendar.models import CalendarDay
from cityos.kernel.calendar.workdays import DayKind, OfficeHours, WorkingCalendar
from cityos.kernel.clock import local, utcnow
from cityos.kernel.errors import ValidationFailed

ADMIN_SOURCE = "admin"
_SOURCE_MAX = 64
_NAME_MAX = 100


# Calendars already built in this process, by database, office hours and the table's
# fingerprint. Every workflow step computes deadlines, and the table holds hundreds of rows
# that change a few times a year; one aggregate row tells whether they did.
_BUILT: dict[tuple[object, ...], WorkingCalendar] = {}
_BUILT_MAX = 32


def load_calendar(session: Session, *, office_hours: OfficeHours | None = None) -> WorkingCalendar:
    """A working calendar with every stored override day."""
    return calendar_of(session, session.execute(fingerprint()).one(), office_hours=office_hours)


def fingerprint(*also: Any) -> Select[Any]:
    """One row that changes whenever the stored days do, after the ``also`` columns (so a
    caller can fetch what it needs in the same round trip)."""
    # Any insert or update sets updated_at to now, so it raises the newest; a deletion
    # lowers the count; the days and the holiday count guard against a frozen clock.
    return select(
        *also,
        func.count(),
        func.max(CalendarDay.updated_at),
        func.min(CalendarDay.day),
        func.max(CalendarDay.day),
        func.count().filter(CalendarDay.kind == DayKind.HOLIDAY.value),
    ).select_from(CalendarDay)


def calendar_of(
    session: Session, fingerprinted: Sequence[Any], *, office_hours: OfficeHours | None = None
) -> WorkingCalendar:
    """The calendar for a row of ``fingerprint()``, built once per process and fingerprint."""
    key = (str(session.get_bind().engine.url), tuple(office_hours or ()), *fingerprinted)
    calendar = _BUILT.get(key)
    if calendar is None:
        rows = session.execute(select(CalendarDay.day, CalendarDay.kind))
        calendar = WorkingCalendar(
            overrides={day: DayKind(kind) for day, kind in rows}, office_hours=office_hours
        )
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        _BUILT[key] = calendar
    return calendar


def set_days(
    session: Session, *, days: Iterable[tuple[date, DayKind | str, str]], source: str
) -> int:
    """Make ``source``'s days exactly ``days`` (date, kind, name); returns the rows changed.

    Rows are compared before writing, so loading the same days twice changes nothing (and
    returns 0). Flushes, never commits.
    """
    if not source or len(source) > _SOURCE_MAX:
        raise ValidationFailed(f"calendar source must be 1–{_SOURCE_MAX} characters")
    wanted = _validated(days)
    # The table holds a few dozen rows a year: reading it whole is cheaper than being clever.
    existing = {row.day: row for row in session.scalars(select(CalendarDay))}
    changed = 0
    for day, row in existing.items():
        if row.source == source and day not in wanted:
            session.delete(row)
            changed += 1
    for day, (kind, name) in wanted.items():
        current = existing.get(day)
        if current is None:
            session.add(CalendarDay(day=day, kind=kind.value, name=name, source=source))
            changed += 1
        elif current.source == ADMIN_SOURCE and source != ADMIN_SOURCE:
            continue
        elif (current.kind, current.name, current.source) != (kind.value, name, source):
            current.kind, current.name, current.source = kind.value, name, source
            changed += 1
    session.flush()
    return changed


NEXT_YEAR_FROM_MONTH = 10


def coverage_warnings(
    session: Session, *, now: datetime | None = None, locale: str = "zh-CN"
) -> list[str]:
    """Warnings for this year, and from October on the next, if their holidays are unknown.

    The State Council publishes next year's schedule in the autumn, and from then on
    deadlines (up to 20 working days and more) already run into January. Warning about
    next year earlier would be noise nobody can act on.
    """
    today = local(now or utcnow())
    years = [today.year, today.year + 1] if today.month >= NEXT_YEAR_FROM_MONTH else [today.year]
    return load_calendar(session).coverage_warnings(years, locale)


def _validated(days: Iterable[tuple[date, DayKind | str, str]]) -> dict[date, tuple[DayKind, str]]:
    wanted: dict[date, tuple[DayKind, str]] = {}
    for day, kind, name in days:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValidationFailed(f"calendar day {day!r} must be a date")
        try:
            entry = (DayKind(kind), name)
        except ValueError:
            raise ValidationFailed(
                f"{day}: kind must be 'holiday' or 'workday', not {kind!r}"
            ) from None
        if len(name) > _NAME_MAX:
            raise ValidationFailed(f"{day}: name longer than {_NAME_MAX} characters")
        if wanted.setdefault(day, entry) != entry:
            raise ValidationFailed(f"{day} is given twice with different answers")
    return wanted
