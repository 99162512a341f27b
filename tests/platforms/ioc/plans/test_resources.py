"""Resources: the nearest available by travel distance (along the roads where the profile
has them, saying so), sent when a run reaches a level that asks for them, freed at its end."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityos.foundation.geo.models import Feature, Layer
from cityos.platforms.ioc.plans.routing import straight_m
from tests.platforms.ioc.plans.conftest import Command, load_resources

RUNS = "/api/v1/plans/runs"
RESOURCES = "/api/v1/plans/resources"
# Inside the geo test district's subdistrict 440303001.
HERE = (114.104, 22.536)


def _team(code: str, lon: float, lat: float, type_: str = "drainage-team") -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "code": code,
            "type": type_,
            "kind": "shelter" if type_ == "shelter" else "team",
            "name": f"{code} 队",
            "name_en": f"{code} team",
            "department": "water-affairs",
            "synthetic": True,
        },
    }


def _load(command: Command, *teams: dict[str, Any]) -> None:
    text = json.dumps({"type": "FeatureCollection", "features": list(teams)})
    with command.runtime.unit_of_work() as session:
        load_resources(session, command.runtime, text)


def _road(session: Session, *points: tuple[float, float]) -> None:
    """A road of the profile's roads layer through ``points``."""
    if session.get(Layer, "roads") is None:
        session.add(
            Layer(
                id="roads",
                title_zh="道路",
                title_en="Roads",
                geometry_type="LineString",
                source="test",
            )
        )
        session.flush()
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    session.add(
        Feature(
            layer_id="roads",
            key=f"road-{len(points)}-{points[0]}",
            geometry={"type": "LineString", "coordinates": [list(p) for p in points]},
            lon=None,
            lat=None,
            min_lon=min(lons),
            min_lat=min(lats),
            max_lon=max(lons),
            max_lat=max(lats),
        )
    )
    session.flush()


def _nearest(client: TestClient, command: Command, **params: Any) -> list[dict[str, Any]]:
    query = {"type": "drainage-team", "lon": HERE[0], "lat": HERE[1], **params}
    response = client.get(f"{RESOURCES}/nearest", params=query, headers=command.headers("duty"))
    assert response.status_code == 200, response.text
    return [f["properties"] for f in response.json()["features"]]


def test_without_roads_the_nearest_is_measured_in_a_straight_line(
    client: TestClient, command: Command
) -> None:
    _load(command, _team("DT-A", 114.110, 22.536), _team("DT-B", 114.105, 22.537))
    found = _nearest(client, command)
    assert [(f["code"], f["method"]) for f in found] == [
        ("DT-B", "straight_line"),
        ("DT-A", "straight_line"),
    ]
    assert found[0]["metres"] == round(straight_m(HERE, (114.105, 22.537)))


def test_along_the_roads_a_team_across_a_river_is_farther_than_it_looks(
    client: TestClient, command: Command
) -> None:
    # B is closer as the crow flies, but the only road to it makes a long detour north.
    _load(command, _team("DT-A", 114.112, 22.536), _team("DT-B", 114.104, 22.531))
    with command.runtime.unit_of_work() as session:
        _road(session, (114.100, 22.536), (114.115, 22.536))
        _road(session, (114.100, 22.536), (114.100, 22.545), (114.095, 22.545), (114.095, 22.531))
        _road(session, (114.095, 22.531), (114.104, 22.531))
    found = _nearest(client, command)
    assert [(f["code"], f["method"]) for f in found] == [("DT-A", "road"), ("DT-B", "road")]
    assert found[1]["metres"] > 2 * straight_m(HERE, (114.104, 22.531))


def test_a_level_sends_the_nearest_available_resources_and_the_end_frees_them(
    client: TestClient, command: Command
) -> None:
    _load(
        command,
        _team("DT-A", 114.110, 22.536),
        _team("DT-B", 114.105, 22.537),
        _team("DT-C", 114.120, 22.540),
    )
    off = client.post(
        f"{RESOURCES}/DT-B/status", json={"status": "unavailable"}, headers=command.headers("duty")
    )
    assert off.json()["properties"]["status"] == "unavailable"
    area = {"type": "Point", "coordinates": list(HERE)}
    run = client.post(
        RUNS,
        json={"plan": "rainstorm", "level": "III", "area": area},
        headers=command.headers("duty"),
    ).json()
    # Level III asks for the two nearest drainage teams: B is off duty, so A and C go.
    assert sorted(r["properties"]["code"] for r in run["resources"]) == ["DT-A", "DT-C"]
    sent = [e for e in run["timeline"] if e["kind"] == "resources_dispatched"]
    assert [(e["data"]["type"], e["data"]["missing"]) for e in sent] == [("drainage-team", 0)]
    listed = client.get(
        RESOURCES, params={"status": "dispatched"}, headers=command.headers("leader")
    ).json()
    assert {f["properties"]["run_id"] for f in listed["features"]} == {run["id"]}
    closed = client.post(
        f"{RUNS}/{run['id']}/close", json={"summary": "结束"}, headers=command.headers("duty")
    ).json()
    assert closed["resources"] == []
    assert [e["kind"] for e in closed["timeline"]][-1] == "resources_released"
    free = client.get(RESOURCES, params={"status": "available"}, headers=command.headers("leader"))
    assert sorted(f["properties"]["code"] for f in free.json()["features"]) == ["DT-A", "DT-C"]


def test_a_run_at_level_ii_also_sends_what_level_iii_asks_for_and_says_what_is_missing(
    client: TestClient, command: Command
) -> None:
    _load(command, _team("DT-A", 114.110, 22.536), _team("SH-1", 114.106, 22.535, "shelter"))
    run = client.post(
        RUNS,
        json={"plan": "rainstorm", "level": "II", "region": "440303001"},
        headers=command.headers("duty"),
    ).json()
    sent = {
        e["data"]["type"]: e["data"] for e in run["timeline"] if e["kind"] == "resources_dispatched"
    }
    assert (sent["drainage-team"]["level"], sent["drainage-team"]["missing"]) == ("III", 1)
    assert (sent["rescue-team"]["missing"], sent["shelter"]["missing"]) == (2, 2)
    assert sorted(r["properties"]["code"] for r in run["resources"]) == ["DT-A", "SH-1"]
