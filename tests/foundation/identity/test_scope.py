"""``scoped``: one helper narrows every query to the caller's reach, on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, Connection, MetaData, String, Table, Uuid, insert, select

from cityos.foundation.identity import Actor, Grant, scoped
from cityos.foundation.identity.models import Scope, UserKind

DONGMEN, HUANGBEI = "440303003", "440303002"
INSPECTOR, CITIZEN, OTHER_CITIZEN = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
DONGMEN_OFFICE, WATER = uuid.uuid4(), uuid.uuid4()

metadata = MetaData()
record = Table(
    "authz_test_record",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("region_code", String(15), nullable=False),
    Column("department_id", Uuid, nullable=True),
    Column("owner_id", Uuid, nullable=True),
)
ROWS = [
    ("dongmen-a", f"{DONGMEN}001", DONGMEN_OFFICE, CITIZEN),
    ("dongmen-b", f"{DONGMEN}002001", WATER, None),
    ("huangbei-a", f"{HUANGBEI}001", WATER, OTHER_CITIZEN),
    ("district", "440303", None, None),
]


@pytest.fixture
def records(connection: Connection) -> Connection:
    """The test-only table, created and filled inside the test's rolled-back transaction."""
    metadata.create_all(connection)
    connection.execute(
        insert(record),
        [
            dict(zip(("name", "region_code", "department_id", "owner_id"), r, strict=True))
            for r in ROWS
        ],
    )
    return connection


def actor(name: str, *grants: Grant, user_id: uuid.UUID | None = None) -> Actor:
    return Actor.of(
        user_id=user_id or uuid.uuid4(), username=name, kind=UserKind.STAFF, grants=grants
    )


READ = frozenset({"records.read"})
inspector = actor(
    "inspector",
    Grant("grid-inspector", Scope.JURISDICTION, READ, (DONGMEN,), DONGMEN_OFFICE),
    user_id=INSPECTOR,
)
leader = actor("leader", Grant("district-leader", Scope.DISTRICT, READ))
citizen = actor("citizen", Grant("citizen", Scope.OWN, READ), user_id=CITIZEN)
huangbei_handler = actor("handler", Grant("handler", Scope.JURISDICTION, READ, (HUANGBEI,), WATER))
nobody = actor("nobody")


def visible(connection: Connection, who: Actor, **columns: bool) -> set[str]:
    stmt = scoped(
        select(record.c.name),
        who,
        region_column=record.c.region_code,
        department_column=record.c.department_id if columns.get("department") else None,
        owner_column=record.c.owner_id,
        permission="records.read",
    )
    return set(connection.scalars(stmt))


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (inspector, {"dongmen-a", "dongmen-b"}),
        (leader, {"dongmen-a", "dongmen-b", "huangbei-a", "district"}),
        (citizen, {"dongmen-a"}),
        (huangbei_handler, {"huangbei-a"}),
        (nobody, set()),
    ],
    ids=["dongmen-inspector", "district-leader", "citizen", "huangbei-handler", "no-roles"],
)
def test_each_actor_sees_only_their_reach(
    records: Connection, who: Actor, expected: set[str]
) -> None:
    assert visible(records, who) == expected


def test_a_department_column_narrows_jurisdiction_to_the_department(records: Connection) -> None:
    assert visible(records, inspector, department=True) == {"dongmen-a"}
    assert visible(records, huangbei_handler, department=True) == {"huangbei-a"}
    assert visible(records, leader, department=True) == {r[0] for r in ROWS}


def test_a_grant_without_the_permission_reaches_nothing(records: Connection) -> None:
    other = actor("other", Grant("x", Scope.DISTRICT, frozenset({"cases.read"})))
    assert visible(records, other) == set()
