"""The device registry: listed and read within one's reach, registered, moved and given
secrets (audited), and a status derived from the data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from cityos.foundation.audit.models import AuditRecord
from cityos.foundation.telemetry.devices import STATUS_JOB, check_status
from cityos.foundation.telemetry.ingest import Reading, ingest
from cityos.foundation.telemetry.models import Datastream, Thing
from cityos.kernel.clock import utcnow
from cityos.kernel.jobs import Job, run_pending
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.foundation.telemetry.district import SUB_001, SUB_002, District, bearer, build


@pytest.fixture
def district(runtime: Runtime, registry: Registry, client: TestClient) -> District:
    return build(runtime, registry)


def _codes(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [item["code"] for item in body["items"]]


def test_a_reader_lists_only_the_devices_in_reach(client: TestClient, district: District) -> None:
    everyone = client.get("/api/v1/devices", headers=bearer(district.manager))
    local = client.get("/api/v1/devices", headers=bearer(district.reader_001))
    assert _codes(everyone) == ["MC-0001", "WL-0001", "WL-0002"]
    assert _codes(local) == ["MC-0001", "WL-0001"]
    hidden = client.get("/api/v1/devices/WL-0002", headers=bearer(district.reader_001))
    assert hidden.status_code == 404
    # The reader is told why in Chinese, the title of the problem's code.
    assert (hidden.json()["code"], hidden.json()["title"]) == (
        "device_not_found",
        "设备不存在或不在您的辖区内",
    )
    refused = client.get("/api/v1/devices", headers=bearer(district.outsider))
    assert refused.status_code == 403


def test_the_list_filters_and_pages(client: TestClient, district: District) -> None:
    headers = bearer(district.manager)
    by_type = client.get("/api/v1/devices?type=manhole-cover-sensor", headers=headers)
    by_region = client.get(f"/api/v1/devices?region={SUB_002}", headers=headers)
    by_text = client.get("/api/v1/devices?q=WL-", headers=headers)
    by_status = client.get("/api/v1/devices?status=online", headers=headers)
    assert _codes(by_type) == ["MC-0001"]
    assert _codes(by_region) == ["WL-0002"]
    assert _codes(by_text) == ["WL-0001", "WL-0002"]
    assert _codes(by_status) == []
    first = client.get("/api/v1/devices?limit=2", headers=headers).json()
    rest = client.get(
        f"/api/v1/devices?limit=2&cursor={first['next_cursor']}", headers=headers
    ).json()
    assert [i["code"] for i in first["items"] + rest["items"]] == ["MC-0001", "WL-0001", "WL-0002"]
    assert rest["next_cursor"] is None


def test_a_device_shows_its_streams_with_their_last_values(
    client: TestClient, runtime: Runtime, district: District
) -> None:
    with runtime.unit_of_work() as session:
        thing = session.scalars(select(Thing).where(Thing.code == "MC-0001")).one()
        streams = {
            ds.name.rsplit(" · ", 1)[1]: ds.id
            for ds in session.scalars(select(Datastream).where(Datastream.thing_id == thing.id))
        }
        moment = utcnow() - timedelta(minutes=1)
        ingest(
            session,
            [
                Reading(phenomenon_time=moment, result=True, datastream_id=streams["井盖开启"]),
                Reading(phenomenon_time=moment, result=12.5, datastream_id=streams["井盖倾角"]),
            ],
        )
    body = client.get("/api/v1/devices/MC-0001", headers=bearer(district.manager)).json()
    assert body["status"] == "online"
    assert body["region_code"].startswith(SUB_001)
    assert (body["lon"], body["lat"]) == (114.115, 22.55)
    last = {s["property"]: s["last_result"] for s in body["datastreams"]}
    assert last == {"cover_open": True, "cover_tilt": 12.5}
    units = {s["property"]: s["unit"]["symbol"] for s in body["datastreams"]}
    assert units == {"cover_open": None, "cover_tilt": "°"}


def test_registering_and_moving_a_device_is_audited(
    client: TestClient, runtime: Runtime, district: District
) -> None:
    headers = bearer(district.manager)
    new = {
        "code": "WL-0100",
        "name": "积水监测仪 WL-0100",
        "name_en": "Waterlogging gauge WL-0100",
        "device_type": "waterlogging-gauge",
        "lon": 114.105,
        "lat": 22.55,
    }
    created = client.post("/api/v1/devices", json=new, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["region_code"] == "440303001002001"
    assert [s["property"] for s in created.json()["datastreams"]] == ["water_depth"]
    assert client.post("/api/v1/devices", json=new, headers=headers).json()["code"] == (
        "device_exists"
    )
    unknown = client.post(
        "/api/v1/devices", json={**new, "code": "X-1", "device_type": "ufo"}, headers=headers
    )
    outside = client.post(
        "/api/v1/devices", json={**new, "code": "X-2", "lon": 113.0}, headers=headers
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_device_type")
    assert (outside.status_code, outside.json()["code"]) == (422, "device_outside_district")

    moved = client.patch(
        "/api/v1/devices/WL-0100", json={"lon": 114.125, "lat": 22.55}, headers=headers
    )
    assert moved.json()["region_code"] == "440303002002001"
    with runtime.unit_of_work() as session:
        actions = session.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.target_id == "WL-0100")
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
        ).all()
    assert actions == ["device.create", "device.update"]


def test_a_reader_cannot_register_devices(client: TestClient, district: District) -> None:
    response = client.post(
        "/api/v1/devices",
        json={
            "code": "WL-0101",
            "name": "x",
            "name_en": "x",
            "device_type": "waterlogging-gauge",
            "lon": 114.105,
            "lat": 22.55,
        },
        headers=bearer(district.reader_001),
    )
    assert response.status_code == 403


def test_a_secret_is_shown_once_stored_hashed_and_rotated(
    client: TestClient, runtime: Runtime, district: District
) -> None:
    headers = bearer(district.manager)
    first = client.post("/api/v1/devices/WL-0001/credentials", headers=headers).json()
    second = client.post("/api/v1/devices/WL-0001/credentials", headers=headers).json()
    assert (first["rotated"], second["rotated"]) == (False, True)
    batch = {"devices": [{"device": "WL-0001", "observations": []}]}
    old = client.post(
        "/api/v1/telemetry/ingest", json=batch, headers={"Authorization": first["authorization"]}
    )
    new = client.post(
        "/api/v1/telemetry/ingest", json=batch, headers={"Authorization": second["authorization"]}
    )
    assert (old.status_code, old.json()["code"]) == (401, "device_auth_failed")
    assert new.status_code == 200
    with runtime.unit_of_work() as session:
        thing = session.scalars(select(Thing).where(Thing.code == "WL-0001")).one()
        records = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.target_id == "WL-0001")
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
        ).all()
    assert thing.secret_hash is not None
    assert second["secret"] not in thing.secret_hash
    assert [r.action for r in records][-2:] == [
        "device.credentials.issue",
        "device.credentials.rotate",
    ]
    assert all(second["secret"] not in str(r.details) for r in records)


def test_status_follows_the_data(runtime: Runtime, district: District) -> None:
    now = utcnow()
    with runtime.unit_of_work() as session:
        things = {t.code: t for t in session.scalars(select(Thing))}
        stream = session.scalars(
            select(Datastream.id).where(Datastream.thing_id == things["WL-0001"].id)
        ).one()
        ingest(session, [Reading(phenomenon_time=now, result=3.0, datastream_id=stream)])
        # WL-0002 last spoke 20 minutes ago: four of its 5-minute intervals.
        session.execute(
            update(Thing)
            .where(Thing.code == "WL-0002")
            .values(status="online", last_seen_at=now - timedelta(minutes=20))
        )
        first = check_status(session, now=now, baseline=None)
        ingest(session, [Reading(phenomenon_time=now, result="deep", datastream_id=stream)])
        second = check_status(session, now=now, baseline=first.errors)
        status = dict(session.execute(select(Thing.code, Thing.status)).all())
    assert first.changed == {"offline": 1}
    assert second.changed == {"fault": 1}
    assert status == {"WL-0001": "fault", "WL-0002": "offline", "MC-0001": "unknown"}


def test_the_status_timer_remembers_the_error_counters(
    runtime: Runtime, district: District
) -> None:
    with runtime.unit_of_work() as session:
        thing = session.scalars(select(Thing).where(Thing.code == "WL-0002")).one()
        thing.error_count, thing.status, thing.last_seen_at = 4, "online", utcnow()
    run_pending(runtime, worker_id="test-status")
    with runtime.unit_of_work() as session:
        job = session.scalars(select(Job).where(Job.dedupe_key == STATUS_JOB)).one()
        assert job.payload == {"errors": {str(thing.id): 4}}
        # Historic errors are no fault on the first check; a new one is on the next.
        assert session.get_one(Thing, thing.id).status == "online"
        session.execute(
            update(Thing).where(Thing.id == thing.id).values(error_count=Thing.error_count + 1)
        )
        job.due_at = utcnow() - timedelta(seconds=1)
    run_pending(runtime, worker_id="test-status")
    with runtime.unit_of_work() as session:
        assert session.get_one(Thing, thing.id).status == "fault"
