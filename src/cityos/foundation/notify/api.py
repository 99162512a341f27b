"""``/api/v1/notify``: the signed-in person's own messages (站内信), in their language."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from cityos.foundation.identity.authz import Actor, require
from cityos.foundation.notify.models import Message
from cityos.foundation.notify.service import mark_all_read, mark_read, messages_of, unread_count
from cityos.foundation.notify.templates import render
from cityos.kernel.errors import Unauthenticated
from cityos.kernel.http import DbSession
from cityos.kernel.i18n import negotiate
from cityos.kernel.pagination import PageOut, PageQuery

router = APIRouter(prefix="/notify", tags=["notify 消息通知"])

PERMISSIONS: dict[str, dict[str, str]] = {
    "notify.read": {"zh": "查看本人消息", "en": "Read one's own messages"},
}

Reader = Annotated[Actor, Depends(require("notify.read"))]


class MessageOut(BaseModel):
    id: uuid.UUID
    template: str
    title: str
    body: str
    subject_type: str | None
    subject_id: str | None
    link: str | None
    created_at: datetime
    read_at: datetime | None


class UnreadOut(BaseModel):
    unread: int


class MarkedOut(BaseModel):
    marked: int


def _me(actor: Actor) -> uuid.UUID:
    # An API key or token always names a user; the check keeps the type honest.
    if actor.user_id is None:
        raise Unauthenticated("messages belong to a signed-in person")
    return actor.user_id


def _out(message: Message, locale: str) -> MessageOut:
    title, body = render(message.template, message.params, locale)
    return MessageOut(
        id=message.id,
        template=message.template,
        title=title,
        body=body,
        subject_type=message.subject_type,
        subject_id=message.subject_id,
        link=message.link,
        created_at=message.created_at,
        read_at=message.read_at,
    )


def _locale(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


@router.get("/messages", response_model=PageOut[MessageOut])
def list_messages(
    request: Request,
    session: DbSession,
    page: PageQuery,
    actor: Reader,
    unread: Annotated[bool, Query(description="only messages not yet read")] = False,
) -> PageOut[MessageOut]:
    """Your messages, newest first, in the language you ask for."""
    found = messages_of(
        session, user_id=_me(actor), unread=unread, cursor=page.cursor, limit=page.limit
    )
    locale = _locale(request)
    return PageOut(items=[_out(m, locale) for m in found.items], next_cursor=found.next_cursor)


@router.get("/messages/unread-count", response_model=UnreadOut)
def count_unread(session: DbSession, actor: Reader) -> UnreadOut:
    """How many of your messages are unread (the badge on 消息)."""
    return UnreadOut(unread=unread_count(session, user_id=_me(actor)))


@router.post("/messages/read-all", response_model=MarkedOut)
def read_all(session: DbSession, actor: Reader) -> MarkedOut:
    """Mark all your messages read."""
    return MarkedOut(marked=mark_all_read(session, user_id=_me(actor)))


@router.post("/messages/{message_id}/read", response_model=MessageOut)
def read_one(
    message_id: uuid.UUID, request: Request, session: DbSession, actor: Reader
) -> MessageOut:
    """Mark one of your messages read; another person's is 404, as if it did not exist."""
    message = mark_read(session, user_id=_me(actor), message_id=message_id)
    return _out(message, _locale(request))
