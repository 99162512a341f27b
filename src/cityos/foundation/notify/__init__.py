"""Notifications (消息通知): messages to people in the portal and workbench (站内信) and by
SMS, written by ``notify`` from templates and read through ``/api/v1/notify``; the
workflow's deadline and escalation events are turned into messages here."""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.notify import areas_api
from cityos.foundation.notify.api import PERMISSIONS
from cityos.foundation.notify.api import router as api_router
from cityos.foundation.notify.areas import send_notice
from cityos.foundation.notify.models import Channel, Delivery, DeliveryStatus, Message
from cityos.foundation.notify.service import (
    SMS_ATTEMPTS,
    SMS_JOB,
    holders,
    mark_all_read,
    mark_read,
    messages_of,
    notify,
    send_sms_job,
    unread_count,
)
from cityos.foundation.notify.templates import (
    Template,
    register_template,
    render,
    sms_text,
    template_for,
)
from cityos.foundation.notify.workflow_events import on_deadline, on_escalated
from cityos.kernel.registry import Module

module = Module(
    name="notify",
    models=("cityos.foundation.notify.models",),
    migrations=Path(__file__).parent / "migrations",
    routers=(api_router, areas_api.router),
    jobs={SMS_JOB: send_sms_job},
    event_handlers=(
        ("workflow.warning", on_deadline),
        ("workflow.overdue", on_deadline),
        ("workflow.escalated", on_escalated),
    ),
    permissions={**PERMISSIONS, **areas_api.PERMISSIONS},
    messages={
        "message_not_found": {"zh-CN": "消息不存在", "en": "No such message"},
        **areas_api.MESSAGES,
    },
)

__all__ = [
    "SMS_ATTEMPTS",
    "SMS_JOB",
    "Channel",
    "Delivery",
    "DeliveryStatus",
    "Message",
    "Template",
    "holders",
    "mark_all_read",
    "mark_read",
    "messages_of",
    "module",
    "notify",
    "register_template",
    "render",
    "send_notice",
    "send_sms_job",
    "sms_text",
    "template_for",
    "unread_count",
]
