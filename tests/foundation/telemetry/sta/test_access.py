"""Who may read and write SensorThings: permissions, API keys and jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from cityos.foundation.identity import create_api_key
from cityos.foundation.identity.models import Scope
from cityos.foundation.telemetry.ingest import Reading, ingest
from cityos.foundation.telemetry.models import Thing
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user
from tests.factories.telemetry import gauge
from tests.foundation.geo.conftest import FIXTURE_PROFILE
from tests.foundation.telemetry.sta.conftest import STA, Caller, make_caller

DONGMEN, HUANGBEI = "440303003", "440303001"


def test_reads_and_writes_need_their_permissions(client: TestClient, runtime: Runtime) -> None:
    assert client.get(f"{STA}/").status_code == 200  # the service root is discovery
    anonymous = client.get(f"{STA}/Things")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    reader = make_caller(client, runtime, "sta-reader", ["telemetry.read"])
    assert reader.get("Things").status_code == 200
    refused = reader.post("Things", {"name": "x"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"


def test_a_device_writes_with_an_api_key(client: TestClient, runtime: Runtime) -> None:
    with runtime.unit_of_work() as session:
        owner = create_user(
            session,
            "gateway",
            Assign("sta-gateway", Scope.DISTRICT, ["telemetry.read", "telemetry.write"]),
        )
        key = create_api_key(
            session,
            settings=runtime.settings,
            owner=owner,
            scopes=["telemetry.write"],
            actor="test",
        ).key
        stream = gauge(session, code="WL-KEY").datastream.id
    response = client.post(
        f"{STA}/Datastreams({stream})/Observations",
        json={"phenomenonTime": "2026-01-10T08:00:00Z", "result": 3},
        headers={"X-API-Key": key},
    )
    assert response.status_code == 201, response.text
    # The key was narrowed to writing: it cannot read.
    assert client.get(f"{STA}/Things", headers={"X-API-Key": key}).status_code == 403


def test_a_jurisdiction_reader_sees_only_things_within_reach(
    client: TestClient, runtime: Runtime
) -> None:
    with runtime.unit_of_work() as session:
        inside = gauge(session, code="WL-DM", region_code=f"{DONGMEN}001")
        outside = gauge(session, code="WL-HB", region_code=f"{HUANGBEI}002", lon=114.2)
        moment = datetime(2026, 1, 10, 8, tzinfo=UTC)
        ingest(
            session,
            [
                Reading(moment, 4.0, datastream_id=inside.datastream.id),
                Reading(moment, 9.0, datastream_id=outside.datastream.id),
            ],
        )
        ids = {
            "inside": inside.thing.id,
            "outside": outside.thing.id,
            "inside_stream": inside.datastream.id,
            "outside_stream": outside.datastream.id,
            "sensor": outside.datastream.sensor_id,
        }
    local = make_caller(
        client, runtime, "dongmen-reader", ["telemetry.read"], jurisdiction=[DONGMEN]
    )
    district = make_caller(client, runtime, "district-reader", ["telemetry.read"])

    def things(caller: Caller) -> set[int]:
        return {t["@iot.id"] for t in caller.value("Things", **{"$top": "1000"})}

    assert ids["inside"] in things(local)
    assert ids["outside"] not in things(local)
    assert {ids["inside"], ids["outside"]} <= things(district)
    assert local.get(f"Things({ids['outside']})").status_code == 404
    assert local.get(f"Datastreams({ids['outside_stream']})/Observations").status_code == 404
    mine = local.value(
        "Observations",
        **{
            "$filter": f"Datastream/id eq {ids['inside_stream']} or "
            f"Datastream/id eq {ids['outside_stream']}"
        },
    )
    assert [o["result"] for o in mine] == [4]
    expanded = local.get(
        f"Things({ids['inside']})", **{"$expand": "Datastreams($expand=Observations)"}
    ).json()
    assert expanded["Datastreams"][0]["Observations"][0]["result"] == 4
    location_names = {loc["name"] for loc in local.value("Locations", **{"$top": "1000"})}
    assert "WL-DM 安装点" in location_names
    assert "WL-HB 安装点" not in location_names
    # Sensors describe instruments, not places: everyone may read them.
    assert local.get(f"Sensors({ids['sensor']})").status_code == 200


def test_a_thing_posted_with_a_location_is_placed_on_the_region_tree(
    client: TestClient, runtime: Runtime, registry: Registry
) -> None:
    with runtime.unit_of_work() as session:
        geo = Registry((registry.by_name("geo"),))
        profiles.load(session, root=FIXTURE_PROFILE, registry=geo, settings=runtime.settings)
    writer = make_caller(client, runtime, "sta-placer", ["telemetry.read", "telemetry.write"])
    inside_001 = {"type": "Point", "coordinates": [114.105, 22.54]}
    created = writer.post(
        "Things",
        {
            "name": "积水监测（第三方）",
            "Locations": [
                {"name": "桥下", "encodingType": "application/geo+json", "location": inside_001}
            ],
        },
    )
    assert created.status_code == 201, created.text
    thing_id = created.json()["@iot.id"]
    with runtime.unit_of_work() as session:
        thing = session.get(Thing, thing_id)
        assert thing is not None
        assert thing.region_code is not None
        assert thing.region_code.startswith("440303001")
    near = make_caller(client, runtime, "sta-001", ["telemetry.read"], jurisdiction=["440303001"])
    far = make_caller(client, runtime, "sta-002", ["telemetry.read"], jurisdiction=["440303002"])
    assert [t["@iot.id"] for t in near.value("Things")] == [thing_id]
    assert far.value("Things") == []
