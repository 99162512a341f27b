"""The working-day calendar: statutory holidays, adjusted workdays and office hours.

Deadlines in CityOS count working time. Build a calendar with ``load_calendar(session)``
and ask it: ``add_working_days``, ``add_working_hours``, ``working_time_between``,
``next_working_instant``, ``is_workday``. Holiday data comes from the ``chinesecalendar``
package and from override days (``set_days``) written by the district profile or an admin;
a year known to neither counts weekends only and says so (``coverage_warnings``).
"""

from __future__ import annotations

from pathlib import Path

from cityos.kernel.calendar.service import (
    ADMIN_SOURCE,
    calendar_of,
    coverage_warnings,
    fingerprint,
    load_calendar,
    set_days,
)
from cityos.kernel.calendar.workdays import (
    DEFAULT_OFFICE_HOURS,
    DayKind,
    OfficeHours,
    WorkingCalendar,
    coverage_message,
    holiday_name,
)
from cityos.kernel.registry import Module

module = Module(
    name="calendar",
    models=("cityos.kernel.calendar.models",),
    migrations=Path(__file__).parent / "migrations",
)

__all__ = [
    "ADMIN_SOURCE",
    "DEFAULT_OFFICE_HOURS",
    "DayKind",
    "OfficeHours",
    "WorkingCalendar",
    "calendar_of",
    "coverage_message",
    "coverage_warnings",
    "fingerprint",
    "holiday_name",
    "load_calendar",
    "module",
    "set_days",
]
