"""IoT alarms that open cases: a rule with ``open_case`` puts the request in its
``alarm.raised`` event; this handler takes it in through the IoT intake with the device's
position, and tells the alarm which case it opened."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from cityos.domains.cases.service import report_from_alarm
from cityos.foundation.telemetry import attach_case
from cityos.kernel.bus import Event


def on_alarm_raised(session: Session, event: Event) -> None:
    """Open the case an ``alarm.raised`` event asks for (one per alarm, however often the
    event is delivered) and record it on the alarm."""
    wanted = event.payload.get("open_case")
    if not wanted:
        return
    location = event.payload.get("location") or {}
    alarm_id = str(event.payload["alarm_id"])
    case = report_from_alarm(
        session,
        alarm_id=alarm_id,
        category_code=str(wanted["category"]),
        description=str(wanted["description"]),
        lon=location.get("lon"),
        lat=location.get("lat"),
    )
    attach_case(session, alarm_id=uuid.UUID(alarm_id), case_id=case.id)
