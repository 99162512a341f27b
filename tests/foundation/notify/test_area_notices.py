"""Geo-fenced notices: residents register places, a notice for an area reaches those with a
place in it (portal and SMS, counted); an empty or invalid area sends nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cityos.foundation.identity.models import Scope, UserKind
from cityos.foundation.identity.tokens import issue_token
from cityos.foundation.notify.models import AreaNotice, Message
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user
from tests.factories.notify import give_phone

GEO_FIXTURE = Path(__file__).parents[2] / "foundation/geo/fixtures/profile"
PLACES = "/api/v1/notify/places"
NOTICES = "/api/v1/notify/area-notices"
WEST = (114.104, 22.536)  # in subdistrict 440303001 of the geo test district
EAST = (114.13, 22.537)  # in 440303002
# A square around WEST only.
AROUND_WEST = {
    "type": "Polygon",
    "coordinates": [
        [
            [114.101, 22.533],
            [114.107, 22.533],
            [114.107, 22.539],
            [114.101, 22.539],
            [114.101, 22.533],
        ]
    ],
}


@pytest.fixture
def people(runtime: Runtime, client: TestClient, registry: Registry) -> dict[str, str]:
    with runtime.unit_of_work() as session:
        profiles.load(
            session,
            root=GEO_FIXTURE,
            registry=Registry((registry.by_name("geo"),)),
            settings=runtime.settings,
        )
        citizen = ["notify.read"]
        users = {
            "duty": create_user(
                session, "an-duty", Assign("duty-officer", Scope.DISTRICT, ["notify.areas.send"])
            ),
            "li": create_user(
                session, "an-li", Assign("citizen", Scope.OWN, citizen), kind=UserKind.CITIZEN
            ),
            "wang": create_user(
                session, "an-wang", Assign("citizen", Scope.OWN, citizen), kind=UserKind.CITIZEN
            ),
        }
        give_phone(session, users["li"], "13800138000")
        return {
            name: issue_token(session, settings=runtime.settings, user=user)
            for name, user in users.items()
        }


def _as(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def _place(client: TestClient, tokens: dict[str, str], who: str, where: Any, kind: str) -> Any:
    body = {
        "kind": kind,
        "label": "家" if kind == "home" else "公司",
        "lon": where[0],
        "lat": where[1],
    }
    return client.post(PLACES, json=body, headers=_as(tokens, who))


def _notice(client: TestClient, tokens: dict[str, str], **body: Any) -> Any:
    wanted = {
        "title": {"zh": "暴雨预警", "en": "Rainstorm warning"},
        "body": {"zh": "请避开积水路段。", "en": "Keep away from flooded roads."},
        **body,
    }
    return client.post(NOTICES, json=wanted, headers=_as(tokens, "duty"))


def test_a_notice_reaches_the_residents_with_a_place_inside_the_area(
    client: TestClient, runtime: Runtime, people: dict[str, str]
) -> None:
    assert _place(client, people, "li", WEST, "home").status_code == 201
    assert _place(client, people, "wang", EAST, "home").status_code == 201
    assert _place(client, people, "wang", WEST, "follow").status_code == 201
    drawn = _notice(client, people, area=AROUND_WEST)
    assert drawn.status_code == 201, drawn.text
    body = drawn.json()
    # Li lives there (and has a phone); Wang follows the place (no phone): two people.
    assert (body["recipients"], body["sms_pending"]) == (2, 1)
    assert body["deliveries"] == {"portal": {"sent": 2}, "sms": {"pending": 1, "skipped": 1}}
    east = _notice(client, people, region="440303002", sms=False).json()
    assert (east["recipients"], east["sms_pending"]) == (1, 0)
    inbox = client.get("/api/v1/notify/messages", headers=_as(people, "li")).json()["items"]
    assert [m["title"] for m in inbox] == ["暴雨预警"]
    assert inbox[0]["body"] == "请避开积水路段。"


@pytest.mark.parametrize(
    ("area", "region"),
    [
        (None, None),
        ({"type": "Polygon", "coordinates": []}, None),
        # A bow tie: its edges cross.
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [114.10, 22.53],
                        [114.11, 22.54],
                        [114.11, 22.53],
                        [114.10, 22.54],
                        [114.10, 22.53],
                    ]
                ],
            },
            None,
        ),
        ({"type": "Point", "coordinates": [114.10, 22.53]}, None),
        (None, "440303999"),
    ],
)
def test_an_empty_or_invalid_area_is_refused_and_nothing_is_sent(
    client: TestClient,
    runtime: Runtime,
    people: dict[str, str],
    area: dict[str, Any] | None,
    region: str | None,
) -> None:
    _place(client, people, "li", WEST, "home")
    refused = _notice(client, people, area=area, region=region)
    assert (refused.status_code, refused.json()["code"]) == (422, "area_invalid")
    with runtime.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(AreaNotice)) == 0
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_places_are_inside_the_district_few_and_ones_own(
    client: TestClient, people: dict[str, str]
) -> None:
    outside = _place(client, people, "li", (113.9, 22.5), "home")
    assert (outside.status_code, outside.json()["code"]) == (422, "outside_district")
    for _ in range(5):
        assert _place(client, people, "li", WEST, "follow").status_code == 201
    sixth = _place(client, people, "li", WEST, "follow")
    assert (sixth.status_code, sixth.json()["code"]) == (422, "too_many_places")
    mine = client.get(PLACES, headers=_as(people, "li")).json()
    assert len(mine) == 5
    assert {p["region_code"][:9] for p in mine} == {"440303001"}
    theirs = client.delete(f"{PLACES}/{mine[0]['id']}", headers=_as(people, "wang"))
    assert (theirs.status_code, theirs.json()["code"]) == (404, "place_not_found")
    assert client.delete(f"{PLACES}/{mine[0]['id']}", headers=_as(people, "li")).status_code == 204
    # Residents cannot send notices, nor read who was told.
    assert _notice_as(client, people, "li").status_code == 403


def _notice_as(client: TestClient, tokens: dict[str, str], who: str) -> Any:
    return client.post(
        NOTICES,
        json={"title": {"zh": "x"}, "body": {"zh": "y"}, "region": "440303"},
        headers=_as(tokens, who),
    )
