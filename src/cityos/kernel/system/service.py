"""The district's own settings, as other modules need them."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.kernel.calendar import WorkingCalendar, load_calendar
from cityos.kernel.system.models import District


def district_calendar(session: Session) -> WorkingCalendar:
    """The working calendar with the district's office hours (the default ones before a
    profile is loaded) and every stored holiday and adjusted workday."""
    district = session.scalars(select(District).limit(1)).first()
    intervals = (district.settings if district else {}).get("office_hours")
    office_hours = (
        [(time.fromisoformat(start), time.fromisoformat(end)) for start, end in intervals]
        if intervals
        else None
    )
    return load_calendar(session, office_hours=office_hours)
