"""Notification test helpers: a recording SMS gateway named by ``CITYOS_SMS_GATEWAY`` and
a way to give a test user a phone, as the platform stores it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import User
from cityos.foundation.privacy import blind_index
from cityos.settings import Settings, get_settings

GATEWAY = "tests.factories.notify:RecordingGateway"


class RecordingGateway:
    """Keeps every text it is asked to send; refuses the next ``failures`` sends."""

    sent: ClassVar[list[tuple[str, str]]] = []
    failures: ClassVar[int] = 0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, *, phone: str, text: str) -> None:
        if RecordingGateway.failures > 0:
            RecordingGateway.failures -= 1
            raise ConnectionError("the carrier's API did not answer")
        RecordingGateway.sent.append((phone, text))


def recording_gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[RecordingGateway]]:
    """Make the process's settings name the recording gateway for one test."""
    RecordingGateway.sent = []
    RecordingGateway.failures = 0
    monkeypatch.setenv("CITYOS_SMS_GATEWAY", GATEWAY)
    get_settings.cache_clear()
    yield RecordingGateway
    get_settings.cache_clear()


def give_phone(session: Session, user: User, phone: str) -> User:
    """Seal ``phone`` in the user's record, as SMS sign-in does."""
    user.phone = phone
    user.phone_bidx = blind_index("mobile", phone)
    session.flush()
    return user
