"""A task's deadline and escalation reach the people it waits for, by message and SMS."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from cityos.foundation.identity.authz import load_actor
from cityos.foundation.notify import Delivery, Message
from cityos.foundation.workflow import (
    Assignment,
    WorkflowDef,
    WorkflowInstance,
    act,
    register_definition,
    start,
)
from cityos.foundation.workflow.jobs import run_timer
from cityos.kernel.bus import drain
from cityos.kernel.jobs import run_pending
from cityos.kernel.runtime import Runtime
from tests.factories.notify import RecordingGateway
from tests.foundation.notify.conftest import GRID, Town

# A task waiting for a unit's handlers, escalated to the dispatchers when overdue: the
# shape of the case loop's dispatch, without the cases domain that owns that workflow.
TASK = WorkflowDef.model_validate(
    {
        "id": "nt-task",
        "version": 1,
        "name": {"zh": "通知测试事项", "en": "Notification test task"},
        "start": "waiting",
        "states": {
            "waiting": {
                "name": {"zh": "待签收", "en": "Awaiting sign-off"},
                "limit": "1 working hours",
            },
            "done": {"name": {"zh": "已办结", "en": "Done"}, "terminal": True},
        },
        "actions": [{"id": "sign", "from": "waiting", "to": "done", "roles": ["handler"]}],
        "escalations": [{"state": "waiting", "when": "overdue", "notify": ["dispatcher"]}],
    }
)


def _dispatched(town: Town, runtime: Runtime) -> WorkflowInstance:
    """A task at the urban unit, waiting for its handlers to sign."""
    session = town.session
    register_definition(session, TASK)
    declared = runtime.registry.permissions()
    dispatcher = load_actor(session, user_id=town.users["dispatcher"].id, declared=declared)
    assert dispatcher is not None
    return start(
        session,
        workflow_id=TASK.id,
        subject_type="test",
        subject_id=uuid.uuid4().hex,
        actor=dispatcher,
        title="东门步行街井盖缺失",
        region_code=GRID,
        assignment=Assignment(role="handler", department_id=town.units["nt-urban"].id),
    )


def _fire(town: Town, runtime: Runtime, task: WorkflowInstance, kind: str) -> None:
    run_timer(
        town.session, {"instance_id": str(task.id), "state_seq": task.state_seq, "kind": kind}
    )
    town.session.commit()
    drain(runtime)


def _told(town: Town, template: str) -> dict[uuid.UUID, Message]:
    rows = town.session.scalars(select(Message).where(Message.template == template))
    return {m.recipient_user_id: m for m in rows}


def test_an_overdue_task_tells_its_units_handlers_and_escalates_to_the_dispatcher(
    town: Town, runtime: Runtime, gateway: type[RecordingGateway]
) -> None:
    task = _dispatched(town, runtime)
    _fire(town, runtime, task, "overdue")

    overdue = _told(town, "workflow.overdue")
    # The urban unit's handlers in the area: not the water unit's, not the one elsewhere.
    assert set(overdue) == {town.users["urban"].id}
    message = overdue[town.users["urban"].id]
    assert (message.subject_type, message.subject_id) == ("workflow_instance", str(task.id))
    assert message.params["title"] == "东门步行街井盖缺失"
    assert message.params["state"] == {"zh-CN": "待签收", "en": "Awaiting sign-off"}
    # The workflow escalates an overdue task to the dispatchers.
    assert set(_told(town, "workflow.escalated")) == {town.users["dispatcher"].id}

    assert run_pending(runtime, worker_id="w1") == 2
    assert sorted(phone for phone, _ in gateway.sent) == ["13800000001", "13800000002"]
    assert any("待签收" in text and "已超时" in text for _, text in gateway.sent)
    statuses = town.session.scalars(select(Delivery.status).where(Delivery.channel == "sms"))
    assert sorted(statuses) == ["sent", "sent"]


def test_a_task_assigned_to_a_person_tells_only_them(town: Town, runtime: Runtime) -> None:
    task = _dispatched(town, runtime)
    task.assignee_user_id = town.users["water"].id
    town.session.flush()
    _fire(town, runtime, task, "warning")
    warned = _told(town, "workflow.warning")
    assert set(warned) == {town.users["water"].id}


def test_a_timer_for_a_state_already_left_tells_nobody(town: Town, runtime: Runtime) -> None:
    task = _dispatched(town, runtime)
    timer = {"instance_id": str(task.id), "state_seq": task.state_seq, "kind": "overdue"}
    declared = runtime.registry.permissions()
    handler = load_actor(town.session, user_id=town.users["urban"].id, declared=declared)
    assert handler is not None
    act(town.session, instance_id=task.id, action="sign", actor=handler)
    run_timer(town.session, timer)
    town.session.commit()
    drain(runtime)
    assert _told(town, "workflow.overdue") == {}
