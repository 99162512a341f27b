"""HTTP batch ingestion: by device code and property or by Datastream id, stored once,
each bad reading refused alone with its number and path, a device's secret good for its
own readings only; bad bodies answered as problem+json; series for charts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityos.foundation.telemetry.batches import BatchError, device_readings
from cityos.foundation.telemetry.models import Datastream, Thing
from cityos.foundation.telemetry.rollups import rollup_job
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.foundation.telemetry.district import District, bearer, build

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
INGEST = "/api/v1/telemetry/ingest"


@pytest.fixture
def district(runtime: Runtime, registry: Registry, client: TestClient) -> District:
    return build(runtime, registry)


def _depths(*values: Any, start: datetime = T0) -> list[dict[str, Any]]:
    return [
        {
            "property": "water_depth",
            "time": (start + timedelta(minutes=5 * i)).isoformat(),
            "value": v,
        }
        for i, v in enumerate(values)
    ]


def _thing(runtime: Runtime, code: str) -> Thing:
    with runtime.unit_of_work() as session:
        return session.scalars(select(Thing).where(Thing.code == code)).one()


def _stream(runtime: Runtime, code: str) -> int:
    with runtime.unit_of_work() as session:
        return (
            session.scalars(
                select(Datastream.id).join(Thing).where(Thing.code == code).order_by(Datastream.id)
            ).first()
            or 0
        )


def test_a_batch_is_stored_once_and_bad_readings_are_refused_alone(
    client: TestClient, runtime: Runtime, district: District
) -> None:
    batch = {
        "devices": [
            {"device": "WL-0001", "observations": _depths(3.5, 4.0, "deep")},
            {"device": "WL-9999", "observations": _depths(1.0)},
            {
                "device": "WL-0002",
                "observations": [
                    {"property": "pm25", "time": T0.isoformat(), "value": 3},
                    {"property": "water_depth", "time": "yesterday", "value": 3},
                    *_depths(7.0),
                ],
            },
        ]
    }
    first = client.post(INGEST, json=batch, headers=bearer(district.manager))
    again = client.post(INGEST, json=batch, headers=bearer(district.manager))
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["received"], body["stored"], body["duplicates"]) == (7, 3, 0)
    refused = [(r["index"], r["path"], r["code"]) for r in body["rejected"]]
    assert refused == [
        (2, "devices[0].observations[2]", "not_numeric"),
        (3, "devices[1].observations[0]", "unknown_device"),
        (4, "devices[2].observations[0]", "unknown_property"),
        (5, "devices[2].observations[1]", "bad_time"),
    ]
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 3)
    # The device's own faults raise its error counter (twice per send here).
    assert _thing(runtime, "WL-0002").error_count == 4
    assert _thing(runtime, "WL-0001").status == "online"


def test_readings_by_datastream_id(
    client: TestClient, runtime: Runtime, district: District
) -> None:
    stream = _stream(runtime, "WL-0002")
    batch = {
        "datastreams": [
            {"id": stream, "observations": [{"time": T0.isoformat(), "value": 2.5}]},
            {"id": 999_999, "observations": [{"time": T0.isoformat(), "value": 1}]},
        ]
    }
    body = client.post(INGEST, json=batch, headers=bearer(district.manager)).json()
    assert body["stored"] == 1
    assert [(r["path"], r["code"]) for r in body["rejected"]] == [
        ("datastreams[1].observations[0]", "unknown_stream")
    ]


def test_a_device_sends_its_own_readings_only(
    client: TestClient, runtime: Runtime, district: District
) -> None:
    issued = client.post(
        "/api/v1/devices/WL-0001/credentials", headers=bearer(district.manager)
    ).json()
    device = {"Authorization": issued["authorization"]}
    batch = {
        "devices": [
            {"device": "WL-0001", "observations": _depths(1.0)},
            {"device": "WL-0002", "observations": _depths(2.0)},
        ],
        "datastreams": [
            {
                "id": _stream(runtime, "WL-0002"),
                "observations": [{"time": "2026-11-30T08:00:00Z", "value": 2}],
            }
        ],
    }
    body = client.post(INGEST, json=batch, headers=device).json()
    assert body["stored"] == 1
    assert [r["code"] for r in body["rejected"]] == ["not_this_device", "not_this_device"]
    wrong = client.post(
        INGEST, json=batch, headers={"Authorization": "Device WL-0001:not-the-secret"}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "device_auth_failed")


def test_only_holders_of_telemetry_write_send(client: TestClient, district: District) -> None:
    anonymous = client.post(INGEST, json={})
    reader = client.post(INGEST, json={}, headers=bearer(district.reader_001))
    assert anonymous.status_code == 401
    assert (reader.status_code, reader.json()["code"]) == (403, "permission_denied")


def test_bad_bodies_are_problems(client: TestClient, district: District) -> None:
    headers = {**bearer(district.manager), "Content-Type": "application/json"}
    malformed = client.post(INGEST, content=b'{"devices": [', headers=headers)
    envelope = client.post(INGEST, json={"devices": {"WL-0001": []}}, headers=headers)
    huge = client.post(INGEST, content=b" " * (5 * 1024 * 1024 + 1), headers=headers)
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed_json")
    assert (envelope.status_code, envelope.json()["code"]) == (422, "bad_batch")
    assert (huge.status_code, huge.json()["code"]) == (413, "payload_too_large")
    for response in (malformed, envelope, huge):
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_mqtt_device_topic_converts_the_same_way(runtime: Runtime, district: District) -> None:
    with runtime.unit_of_work() as session:
        readings = device_readings(
            session, "WL-0001", {"observations": [*_depths(1.0, 2.0), {"property": "x"}]}
        )
        assert [r.result for r in readings] == [1.0, 2.0]
        with pytest.raises(BatchError) as unknown:
            device_readings(session, "WL-9999", {"observations": _depths(1.0)})
        with pytest.raises(BatchError):
            device_readings(session, "WL-0001", ["not", "a", "message"])
    assert unknown.value.code == "unknown_device"
    assert _thing(runtime, "WL-0001").error_count == 1


def test_series_gives_raw_points_or_rollups_within_reach(
    client: TestClient, runtime: Runtime, district: District
) -> None:
    batch = {"devices": [{"device": "WL-0001", "observations": _depths(2.0, 4.0, 9.0)}]}
    client.post(INGEST, json=batch, headers=bearer(district.manager))
    with runtime.unit_of_work() as session:
        rollup_job(session, {})  # the telemetry.rollup timer's next run
    stream = _stream(runtime, "WL-0001")
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()}
    raw = client.get(
        "/api/v1/telemetry/series",
        params={"datastream": stream, **window},
        headers=bearer(district.reader_001),
    ).json()
    hourly = client.get(
        "/api/v1/telemetry/series",
        params={"datastream": stream, "bucket": "1h", **window},
        headers=bearer(district.reader_001),
    ).json()
    assert [p["value"] for p in raw["points"]] == [2.0, 4.0, 9.0]
    assert hourly["points"] == [
        {"time": "2026-11-30T08:00:00Z", "avg": 5.0, "min": 2.0, "max": 9.0, "count": 3}
    ]
    elsewhere = client.get(
        "/api/v1/telemetry/series",
        params={"datastream": _stream(runtime, "WL-0002"), **window},
        headers=bearer(district.reader_001),
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "datastream_not_found")


def test_the_example_batch_in_the_openapi_document_is_accepted(
    client: TestClient, district: District
) -> None:
    spec = client.get("/openapi.json").json()
    example = spec["paths"][INGEST]["post"]["requestBody"]["content"]["application/json"]["example"]
    example = json.loads(json.dumps(example).replace("2026-12-01T08:00:00+08:00", T0.isoformat()))
    body = client.post(INGEST, json=example, headers=bearer(district.manager)).json()
    assert body["stored"] == 1


def test_a_region_series_aggregates_its_devices_within_reach(
    client: TestClient, runtime: Runtime, district: District
) -> None:
    batch = {
        "devices": [
            {"device": "WL-0001", "observations": _depths(2.0, 4.0)},
            {"device": "WL-0002", "observations": _depths(30.0)},
        ]
    }
    client.post(INGEST, json=batch, headers=bearer(district.manager))
    with runtime.unit_of_work() as session:
        rollup_job(session, {})
    query = {
        "property": "water_depth",
        "from": T0.isoformat(),
        "to": (T0 + timedelta(hours=1)).isoformat(),
        "bucket": "1h",
    }
    district_wide = client.get(
        "/api/v1/telemetry/regions/440303/series", params=query, headers=bearer(district.manager)
    ).json()
    assert district_wide["points"] == [
        {
            "time": "2026-11-30T08:00:00Z",
            "avg": 12.0,
            "min": 2.0,
            "max": 30.0,
            "count": 3,
            "devices": 2,
        }
    ]
    # The reader of 440303001 sees only WL-0001, whatever region they ask for.
    mine = client.get(
        "/api/v1/telemetry/regions/440303/series", params=query, headers=bearer(district.reader_001)
    ).json()
    assert [(p["count"], p["devices"], p["max"]) for p in mine["points"]] == [(2, 1, 4.0)]
    raw = client.get(
        "/api/v1/telemetry/regions/440303/series",
        params={**query, "bucket": "raw"},
        headers=bearer(district.manager),
    )
    assert (raw.status_code, raw.json()["code"]) == (422, "bucket_needed")
    assert raw.json()["title"] == "区域曲线按时段汇总，请选择 1 分钟、1 小时或 1 天"
