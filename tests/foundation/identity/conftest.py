"""Identity test helpers: users with role assignments, built through the models."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import User, UserKind
from tests.factories.identity import Assign, create_user

MakeUser = Callable[..., User]


@pytest.fixture
def make_user(session: Session) -> MakeUser:
    """A user holding the given roles (created as needed) over their jurisdictions."""

    def make(
        username: str, *assignments: Assign, kind: UserKind = UserKind.STAFF, active: bool = True
    ) -> User:
        return create_user(session, username, *assignments, kind=kind, active=active)

    return make
