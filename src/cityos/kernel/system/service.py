"""The district's own settings, as other modules need them."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.kernel.calendar import WorkingCalendar, calendar_of, fingerprint
from cityos.kernel.system.models import District


def district_calendar(session: Session) -> WorkingCalendar:
    """The working calendar with the district's office hours (the default ones before a
    profile is loaded) and every stored holiday and adjusted workday."""
    # Every workflow step asks: the settings ride on the calendar's fingerprint query.
    settings = select(District.settings).limit(1).scalar_subquery()
    row = session.execute(fingerprint(settings)).one()
    intervals = (row[0] or {}).get("office_hours")
    office_hours = (
        [(time.fromisoformat(start), time.fromisoformat(end)) for start, end in intervals]
        if intervals
        else None
    )
    return calendar_of(session, row[1:], office_hours=office_hours)
