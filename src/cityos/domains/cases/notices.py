"""What a case's reporter is told (站内信 and SMS, through foundation/notify): that a
duplicate report was merged and closed with its master case, that the problem has been
handled and awaits their rating, and that it is closed."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from cityos.domains.cases.models import Case
from cityos.foundation.notify import Channel, Template, notify, register_template
from cityos.kernel.bus import Event

# Where the portal shows a reporter's own cases.
PORTAL_LINK = "#/reports"

DUPLICATE_CLOSED = Template(
    code="case.duplicate_closed",
    title={"zh-CN": "问题已合并办结", "en": "Report merged and closed"},
    body={
        "zh-CN": "您反映的问题（{number}）与问题（{master_number}）为同一问题，"
        "已合并办理并办结，感谢您的反映。",
        "en": "Your report {number} was about the same problem as {master_number}; "
        "it was handled together with it and is now closed. Thank you for reporting it.",
    },
    sms=True,
)
RATE_REQUEST = Template(
    code="case.rate_request",
    title={"zh-CN": "问题已办结，请评价", "en": "Handled: please rate"},
    body={
        "zh-CN": "您反映的问题（{number}）已办结，请登录i罗湖对办理结果进行评价。",
        "en": "Your report {number} has been handled; please rate the result in i罗湖.",
    },
    sms=True,
)
CLOSED = Template(
    code="case.closed",
    title={"zh-CN": "问题已结案", "en": "Report closed"},
    body={
        "zh-CN": "您反映的问题（{number}）已结案，感谢您的反映。",
        "en": "Your report {number} is closed. Thank you for reporting it.",
    },
)

for _template in (DUPLICATE_CLOSED, RATE_REQUEST, CLOSED):
    register_template(_template)


def on_duplicate_closed(session: Session, event: Event) -> None:
    """``case.duplicate_closed``: the duplicate's reporter learns it closed with its master."""
    payload = event.payload
    reporter = payload.get("reporter_user_id")
    if not reporter:
        return
    notify(
        session,
        recipients=[uuid.UUID(str(reporter))],
        template=DUPLICATE_CLOSED.code,
        params={"number": payload["number"], "master_number": payload["master_number"]},
        channels=(Channel.PORTAL, Channel.SMS),
        subject_type="case",
        subject_id=str(payload["case_id"]),
        link=PORTAL_LINK,
    )


def on_case_step(session: Session, event: Event) -> None:
    """A step that brings a case to its callback asks the reporter to rate it (the rating
    is taken only then); a close by the hotline's callback tells them it is closed."""
    payload = event.payload
    status = payload.get("status")
    channels: tuple[Channel, ...]
    if status == "callback":
        template, channels = RATE_REQUEST, (Channel.PORTAL, Channel.SMS)
    elif status == "closed" and event.type == "case.call_back":
        template, channels = CLOSED, (Channel.PORTAL,)
    else:
        return
    case = session.get(Case, uuid.UUID(str(payload["case_id"])))
    if case is None or case.reporter_user_id is None:
        return
    notify(
        session,
        recipients=[case.reporter_user_id],
        template=template.code,
        params={"number": case.number},
        channels=channels,
        subject_type="case",
        subject_id=str(case.id),
        link=PORTAL_LINK,
    )
