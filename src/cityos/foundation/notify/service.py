"""Telling people things: ``notify`` writes one message per person and, for templates
marked ``sms``, schedules a text per message through the job runner, so it goes out after
the caller's commit and is retried; every attempt's outcome stays on the delivery row."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cityos.foundation.identity.authz import ANONYMOUS, Grant, reaches
from cityos.foundation.identity.models import Role, RoleAssignment, Scope, User
from cityos.foundation.identity.sms import gateway_for
from cityos.foundation.notify.models import Channel, Delivery, DeliveryStatus, Message
from cityos.foundation.notify.templates import sms_text, template_for
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import NotFound
from cityos.kernel.jobs import retry_delay, schedule
from cityos.kernel.pagination import Page, paginate
from cityos.settings import get_settings

log = logging.getLogger("cityos.notify")

SMS_JOB = "notify.sms"
# Sends of one text before its delivery is marked failed (backing off 5 s, 10 s, 20 s …).
SMS_ATTEMPTS = 5


def holders(
    session: Session,
    *,
    roles: Iterable[str],
    region_code: str | None,
    department_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Active users holding one of ``roles`` through a grant that reaches a thing in
    ``region_code`` (and of ``department_id``, where given), as the unified inbox decides
    reach: a district grant reaches everything, a jurisdiction grant its regions and, if it
    names one, its department."""
    wanted = sorted(set(roles))
    if not wanted:
        return []
    rows = session.execute(
        select(RoleAssignment, Role.scope)
        .join(Role, Role.code == RoleAssignment.role)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.role.in_(wanted), User.active.is_(True))
        .order_by(RoleAssignment.user_id)
    ).all()
    found: list[uuid.UUID] = []
    for assignment, scope in rows:
        grant = Grant(
            role=assignment.role,
            scope=Scope(scope),
            permissions=frozenset(),
            jurisdiction=tuple(str(code) for code in assignment.jurisdiction),
            department_id=assignment.department_id,
        )
        # An own-scope grant reaches only its holder's records, never someone else's task.
        if grant.scope is Scope.OWN:
            continue
        if assignment.user_id not in found and reaches(
            grant,
            ANONYMOUS,
            region_code=region_code,
            department_id=department_id,
            department_optional=True,
        ):
            found.append(assignment.user_id)
    return found


def notify(
    session: Session,
    *,
    recipients: Iterable[uuid.UUID],
    template: str,
    params: Mapping[str, Any],
    channels: Iterable[Channel] = (Channel.PORTAL, Channel.SMS),
    subject_type: str | None = None,
    subject_id: str | None = None,
    link: str | None = None,
) -> list[Message]:
    """Tell each active user among ``recipients`` (once each) what ``template`` says.

    Every message shows in the reader's portal or workbench. SMS goes out only when asked
    for in ``channels`` and the template is marked ``sms``: to a person without a phone
    it is recorded as ``skipped``; otherwise a job sends it after the caller commits.
    ``params`` must be JSON. Never commits.
    """
    declared = template_for(template)
    if declared is None:
        raise ValueError(f"no notification template {template!r}")
    wanted = set(channels)
    by_sms = Channel.SMS in wanted and declared.sms
    ids = list(dict.fromkeys(recipients))
    if not ids:
        return []
    active = session.execute(
        select(User.id, User.phone.is_not(None)).where(User.id.in_(ids), User.active.is_(True))
    ).all()
    has_phone = {user_id: bool(phone) for user_id, phone in active}
    now = utcnow()
    messages: list[Message] = []
    for user_id in ids:
        if user_id not in has_phone:
            continue
        message = Message(
            recipient_user_id=user_id,
            template=template,
            params=dict(params),
            subject_type=subject_type,
            subject_id=subject_id,
            link=link,
            created_at=now,
        )
        session.add(message)
        session.flush()
        session.add(
            Delivery(
                message_id=message.id,
                channel=Channel.PORTAL,
                status=DeliveryStatus.SENT,
                sent_at=now,
            )
        )
        if by_sms:
            status = DeliveryStatus.PENDING if has_phone[user_id] else DeliveryStatus.SKIPPED
            sms = Delivery(message_id=message.id, channel=Channel.SMS, status=status)
            session.add(sms)
            session.flush()
            if status == DeliveryStatus.PENDING:
                _schedule_sms(session, sms.id, attempt=0)
        messages.append(message)
    session.flush()
    return messages


def _schedule_sms(session: Session, delivery_id: uuid.UUID, *, attempt: int) -> None:
    # One job per attempt, each with its own key: the job that schedules the retry is
    # itself still running, and a dedupe key it holds would swallow the retry.
    schedule(
        session,
        name=SMS_JOB,
        payload={"delivery_id": str(delivery_id)},
        due_at=utcnow() + retry_delay(attempt) if attempt else None,
        dedupe_key=f"{SMS_JOB}:{delivery_id}:{attempt}",
        max_attempts=1,
    )


def send_sms_job(session: Session, payload: dict[str, Any]) -> None:
    """The ``notify.sms`` job: send one message's text and record how it went.

    A refusal by the gateway is recorded on the delivery (attempts, last error) and
    retried by a later job, so the record survives; after ``SMS_ATTEMPTS`` it is ``failed``.
    """
    delivery = session.scalar(
        select(Delivery)
        .where(Delivery.id == uuid.UUID(str(payload["delivery_id"])))
        .with_for_update()
    )
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return
    message = session.get(Message, delivery.message_id)
    user = session.get(User, message.recipient_user_id) if message is not None else None
    text = sms_text(message.template, message.params) if message is not None else None
    if user is None or not user.active or not user.phone or text is None:
        delivery.status = DeliveryStatus.SKIPPED
        return
    delivery.attempts += 1
    try:
        # The job carries no settings; the worker process's own say which gateway it uses.
        gateway_for(get_settings()).send(phone=user.phone, text=text)
    except Exception as exc:  # any gateway fault (network, carrier refusal, set-up) is retried
        log.warning(
            "SMS of message %s failed (attempt %d): %r", delivery.message_id, delivery.attempts, exc
        )
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if delivery.attempts >= SMS_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
        else:
            _schedule_sms(session, delivery.id, attempt=delivery.attempts)
        return
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = utcnow()
    delivery.last_error = None


def messages_of(
    session: Session,
    *,
    user_id: uuid.UUID,
    unread: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Message]:
    """A page of ``user_id``'s messages, newest first; only unread ones with ``unread``."""
    stmt = select(Message).where(Message.recipient_user_id == user_id)
    if unread:
        stmt = stmt.where(Message.read_at.is_(None))
    return paginate(session, stmt, order_by=[Message.id.desc()], cursor=cursor, limit=limit)


def unread_count(session: Session, *, user_id: uuid.UUID) -> int:
    """How many of ``user_id``'s messages are unread."""
    count = session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.recipient_user_id == user_id, Message.read_at.is_(None))
    )
    return int(count or 0)


def mark_read(session: Session, *, user_id: uuid.UUID, message_id: uuid.UUID) -> Message:
    """Mark one of ``user_id``'s messages read (again: no change); another's is not found."""
    message = session.get(Message, message_id)
    if message is None or message.recipient_user_id != user_id:
        raise NotFound("no such message", code="message_not_found")
    if message.read_at is None:
        message.read_at = utcnow()
        session.flush()
    return message


def mark_all_read(session: Session, *, user_id: uuid.UUID) -> int:
    """Mark every unread message of ``user_id`` read; returns how many."""
    result = session.execute(
        update(Message)
        .where(Message.recipient_user_id == user_id, Message.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))
