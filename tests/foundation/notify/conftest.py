"""Notification tests: people with and without phones, in the roles messages go to."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import Department, Scope, User, UserKind
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user
from tests.factories.notify import RecordingGateway, give_phone, recording_gateway

STAFF = ["notify.read", "workflow.inbox.read", "workflow.instances.act"]
AREA = "440303"
GRID = "440303003001001"


@dataclass
class Town:
    session: Session
    users: dict[str, User]
    units: dict[str, Department]


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[RecordingGateway]]:
    yield from recording_gateway(monkeypatch)


@pytest.fixture
def town(runtime: Runtime) -> Iterator[Town]:
    """A dispatcher, handlers of two units, a handler elsewhere, and a citizen; all but one
    handler with a phone."""
    with runtime.unit_of_work() as session:
        units = {}
        for code in ("nt-urban", "nt-water"):
            unit = Department(code=code, name_zh=code, name_en=code, kind="bureau")
            session.add(unit)
            session.flush()
            units[code] = unit
        users = {
            "dispatcher": create_user(session, "nt-d", Assign("dispatcher", Scope.DISTRICT, STAFF)),
            "urban": create_user(
                session,
                "nt-urban-h",
                Assign("handler", Scope.JURISDICTION, STAFF, [AREA], units["nt-urban"].id),
            ),
            "water": create_user(
                session,
                "nt-water-h",
                Assign("handler", Scope.JURISDICTION, STAFF, [AREA], units["nt-water"].id),
            ),
            "elsewhere": create_user(
                session,
                "nt-far-h",
                Assign("handler", Scope.JURISDICTION, STAFF, ["440303001"], units["nt-urban"].id),
            ),
            "citizen": create_user(
                session,
                "nt-c",
                Assign("citizen", Scope.OWN, ["notify.read"]),
                kind=UserKind.CITIZEN,
            ),
        }
        for name, phone in (
            ("dispatcher", "13800000001"),
            ("urban", "13800000002"),
            ("elsewhere", "13800000004"),
            ("citizen", "13900000005"),
        ):
            give_phone(session, users[name], phone)
        yield Town(session, users, units)
