"""``notify``: one message per person, read in their language, and SMS that goes out
after commit through the configured gateway, with every outcome recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cityos.foundation.notify import (
    SMS_ATTEMPTS,
    SMS_JOB,
    Channel,
    Delivery,
    DeliveryStatus,
    Message,
    holders,
    notify,
    render,
)
from cityos.kernel.clock import utcnow
from cityos.kernel.jobs import Job, JobStatus, run_pending
from cityos.kernel.runtime import Runtime
from tests.factories.notify import RecordingGateway
from tests.foundation.notify.conftest import GRID, Town

TASK = {"title": "东门步行街井盖缺失", "state": {"zh-CN": "处置中", "en": "Being handled"}}
OVERDUE = {**TASK, "due_at": "2026-03-02 17:30"}


def _deliveries(town: Town, message: Message) -> dict[str, Delivery]:
    rows = town.session.scalars(select(Delivery).where(Delivery.message_id == message.id))
    return {str(d.channel): d for d in rows}


def _sms_jobs(town: Town) -> list[Job]:
    return list(town.session.scalars(select(Job).where(Job.name == SMS_JOB)))


def _make_due(town: Town) -> None:
    town.session.execute(
        update(Job)
        .where(Job.name == SMS_JOB, Job.status == JobStatus.PENDING)
        .values(due_at=utcnow() - timedelta(seconds=1))
    )
    town.session.commit()


def test_each_person_gets_one_message_read_in_their_language(town: Town) -> None:
    urban = town.users["urban"].id
    [message] = notify(
        town.session,
        recipients=[urban, urban],
        template="workflow.overdue",
        params=OVERDUE,
        channels=[Channel.PORTAL],
        subject_type="workflow_instance",
        subject_id="i-1",
    )
    assert message.recipient_user_id == urban
    assert render(message.template, message.params, "zh-CN") == (
        "待办已超时",
        "待办事项“东门步行街井盖缺失”（处置中）已于2026-03-02 17:30超时，请尽快办理。",
    )
    title, body = render(message.template, message.params, "en")
    assert title == "A task is overdue"
    assert "(Being handled)" in body
    # Only the portal was asked for: no text, no job.
    assert {c: d.status for c, d in _deliveries(town, message).items()} == {"portal": "sent"}
    assert _sms_jobs(town) == []


def test_an_unknown_template_is_refused(town: Town) -> None:
    with pytest.raises(ValueError, match="no notification template"):
        notify(town.session, recipients=[town.users["urban"].id], template="nope", params={})


def test_an_inactive_person_is_not_told(town: Town) -> None:
    town.users["urban"].active = False
    town.session.flush()
    sent = notify(
        town.session, recipients=[town.users["urban"].id], template="workflow.overdue", params={}
    )
    assert sent == []


def test_a_text_goes_out_after_commit_through_the_gateway(
    town: Town, runtime: Runtime, gateway: type[RecordingGateway]
) -> None:
    [message] = notify(
        town.session,
        recipients=[town.users["urban"].id],
        template="workflow.overdue",
        params=OVERDUE,
    )
    assert _deliveries(town, message)["sms"].status == "pending"
    assert gateway.sent == []  # nothing leaves before the commit
    town.session.commit()

    assert run_pending(runtime, worker_id="w1") == 1
    town.session.expire_all()
    sms = _deliveries(town, message)["sms"]
    assert (sms.status, sms.attempts, sms.last_error) == ("sent", 1, None)
    assert sms.sent_at is not None
    assert gateway.sent == [
        (
            "13800000002",
            "【罗湖区政府】待办事项“东门步行街井盖缺失”（处置中）"
            "已于2026-03-02 17:30超时，请尽快办理。",
        )
    ]


def test_a_refused_text_is_recorded_and_retried_until_it_fails(
    town: Town, runtime: Runtime, gateway: type[RecordingGateway]
) -> None:
    gateway.failures = 1
    [message] = notify(
        town.session, recipients=[town.users["urban"].id], template="workflow.overdue", params={}
    )
    town.session.commit()
    assert run_pending(runtime, worker_id="w1") == 1
    town.session.expire_all()
    sms = _deliveries(town, message)["sms"]
    assert (sms.status, sms.attempts) == ("pending", 1)
    assert sms.last_error == "ConnectionError: the carrier's API did not answer"
    retry = [j for j in _sms_jobs(town) if j.status == JobStatus.PENDING]
    assert len(retry) == 1
    assert retry[0].due_at > utcnow()
    assert run_pending(runtime, worker_id="w1") == 0  # backing off

    _make_due(town)
    assert run_pending(runtime, worker_id="w1") == 1
    town.session.expire_all()
    sms = _deliveries(town, message)["sms"]
    assert (sms.status, sms.attempts, sms.last_error) == ("sent", 2, None)
    assert len(gateway.sent) == 1

    gateway.failures = SMS_ATTEMPTS
    [second] = notify(
        town.session, recipients=[town.users["urban"].id], template="workflow.overdue", params={}
    )
    town.session.commit()
    for _ in range(SMS_ATTEMPTS):
        _make_due(town)
        assert run_pending(runtime, worker_id="w1") == 1
    town.session.expire_all()
    sms = _deliveries(town, second)["sms"]
    assert (sms.status, sms.attempts) == ("failed", SMS_ATTEMPTS)
    assert "ConnectionError" in (sms.last_error or "")
    _make_due(town)
    assert run_pending(runtime, worker_id="w1") == 0  # no further attempt


def test_a_person_without_a_phone_is_skipped_for_sms(
    town: Town, runtime: Runtime, gateway: type[RecordingGateway]
) -> None:
    [message] = notify(
        town.session, recipients=[town.users["water"].id], template="workflow.overdue", params={}
    )
    deliveries = _deliveries(town, message)
    assert {c: d.status for c, d in deliveries.items()} == {
        "portal": DeliveryStatus.SENT,
        "sms": DeliveryStatus.SKIPPED,
    }
    assert _sms_jobs(town) == []
    town.session.commit()
    assert run_pending(runtime, worker_id="w1") == 0
    assert gateway.sent == []


def test_a_portal_only_template_sends_no_text(town: Town) -> None:
    [message] = notify(
        town.session, recipients=[town.users["urban"].id], template="workflow.warning", params={}
    )
    assert set(_deliveries(town, message)) == {"portal"}


def test_role_holders_are_those_whose_grant_reaches_the_thing(town: Town) -> None:
    users = town.users
    urban = town.units["nt-urban"].id
    assert holders(town.session, roles=["handler"], region_code=GRID, department_id=urban) == [
        users["urban"].id
    ]
    # Without a department, every handler whose area covers the place; the one whose
    # area is another subdistrict is not among them.
    assert set(holders(town.session, roles=["handler"], region_code=GRID)) == {
        users["urban"].id,
        users["water"].id,
    }
    assert holders(town.session, roles=["dispatcher"], region_code=GRID) == [users["dispatcher"].id]
    # A citizen's own-scope role reaches nobody else's task.
    assert holders(town.session, roles=["citizen"], region_code=GRID) == []
