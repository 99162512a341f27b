"""The SensorThings API as a client meets it: deep insert, reads with every query option,
Observations through ingest, updates, deletes and the CreateObservations action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cityos.foundation.telemetry.ingest import MEASUREMENT
from tests.foundation.telemetry.sta.conftest import STA, Caller

TRUTH = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation"
CM = {"name": "centimetre", "symbol": "cm", "definition": "http://unitsofmeasure.org/ucum.html#cm"}


def _id(link: str) -> int:
    return int(link[link.rindex("(") + 1 : link.rindex(")")])


def _gauge_body(name: str, lon: float, lat: float, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": "积水监测点",
        "properties": {"district": "罗湖", "depth_limit": 15},
        "Locations": [
            {
                "name": f"{name} 安装点",
                "description": "路口",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
        "Datastreams": [
            {
                "name": f"{name} 积水深度",
                "description": "水深",
                "observationType": MEASUREMENT,
                "unitOfMeasurement": CM,
                "Sensor": {
                    "name": "超声波液位计",
                    "description": "ultrasonic",
                    "encodingType": "text/plain",
                    "metadata": "UL-200",
                },
                "ObservedProperty": {
                    "name": "积水深度",
                    "definition": "https://cityos.example/def/water_depth",
                    "description": "water depth",
                },
            }
        ],
        **extra,
    }


def _make_gauge(sta: Caller, name: str, lon: float = 114.118, lat: float = 22.548) -> int:
    response = sta.post("Things", _gauge_body(name, lon, lat))
    assert response.status_code == 201, response.text
    return _id(response.headers["Location"])


def _datastream(sta: Caller, thing: int) -> int:
    return int(sta.value(f"Things({thing})/Datastreams")[0]["@iot.id"])


def _observe(sta: Caller, datastream: int, values: list[float], start: datetime) -> None:
    for minute, value in enumerate(values):
        moment = (start + timedelta(minutes=minute)).isoformat()
        response = sta.post(
            f"Datastreams({datastream})/Observations", {"phenomenonTime": moment, "result": value}
        )
        assert response.status_code == 201, response.text


START = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)


def test_the_service_root_lists_the_entity_sets_and_conformance(sta: Caller) -> None:
    root = sta.client.get(f"{STA}/").json()
    names = {entry["name"] for entry in root["value"]}
    assert names == {
        "Things",
        "Locations",
        "HistoricalLocations",
        "Datastreams",
        "MultiDatastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
        "FeaturesOfInterest",
    }
    assert root["value"][0]["url"].endswith("/sta/v1.1/Things")
    conformance = root["serverSettings"]["conformance"]
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete" in conformance


def test_deep_insert_makes_the_whole_thing_and_reads_back_with_links(sta: Caller) -> None:
    response = sta.post("Things", _gauge_body("WL-001", 114.118, 22.548))
    assert response.status_code == 201
    location = response.headers["Location"]
    assert location.startswith("http://testserver/sta/v1.1/Things(")
    thing = _id(location)
    body = sta.get(f"Things({thing})").json()
    assert body["@iot.id"] == thing
    assert body["@iot.selfLink"] == location
    assert body["Datastreams@iot.navigationLink"] == f"{location}/Datastreams"
    assert body["properties"] == {"district": "罗湖", "depth_limit": 15}

    expanded = sta.get(
        f"Things({thing})", **{"$expand": "Datastreams($expand=ObservedProperty,Sensor),Locations"}
    ).json()
    (stream,) = expanded["Datastreams"]
    assert stream["unitOfMeasurement"] == CM
    assert stream["ObservedProperty"]["definition"] == "https://cityos.example/def/water_depth"
    assert stream["Sensor"]["metadata"] == "UL-200"
    assert expanded["Locations"][0]["location"]["coordinates"] == [114.118, 22.548]
    # The Thing got its first place: one HistoricalLocation with that Location.
    (history,) = sta.value(f"Things({thing})/HistoricalLocations", **{"$expand": "Locations"})
    assert history["Locations"][0]["@iot.id"] == expanded["Locations"][0]["@iot.id"]
    assert sta.get(f"Datastreams({stream['@iot.id']})/Thing").json()["@iot.id"] == thing


def test_linking_existing_entities_by_id(sta: Caller) -> None:
    thing = _make_gauge(sta, "WL-002")
    first = sta.value(f"Things({thing})/Datastreams", **{"$expand": "Sensor,ObservedProperty"})[0]
    response = sta.post(
        f"Things({thing})/Datastreams",
        {
            "name": "WL-002 水温",
            "description": "",
            "observationType": MEASUREMENT,
            "unitOfMeasurement": {
                "name": "degree Celsius",
                "symbol": "°C",
                "definition": "ucum:Cel",
            },
            "Sensor": {"@iot.id": first["Sensor"]["@iot.id"]},
            "ObservedProperty": {"@iot.id": first["ObservedProperty"]["@iot.id"]},
        },
    )
    assert response.status_code == 201, response.text
    assert len(sta.value(f"Things({thing})/Datastreams")) == 2
    assert len(sta.value(f"Sensors({first['Sensor']['@iot.id']})/Datastreams")) == 2
    missing = sta.post(
        "Datastreams",
        {
            "name": "x",
            "observationType": MEASUREMENT,
            "unitOfMeasurement": CM,
            "Thing": {"@iot.id": thing},
            "Sensor": {"@iot.id": 999_999},
            "ObservedProperty": {"@iot.id": first["ObservedProperty"]["@iot.id"]},
        },
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_observations_go_through_ingest(sta: Caller) -> None:
    thing = _make_gauge(sta, "WL-003")
    stream = _datastream(sta, thing)
    sent = {"phenomenonTime": "2026-01-10T16:00:00+08:00", "result": 12.5}
    first = sta.post(f"Datastreams({stream})/Observations", sent)
    assert first.status_code == 201, first.text
    link = first.headers["Location"]
    assert first.json()["phenomenonTime"] == "2026-01-10T08:00:00Z"
    # A resend is the same observation: answered with the one stored, not stored twice.
    again = sta.post("Observations", {**sent, "Datastream": {"@iot.id": stream}})
    assert again.status_code == 200
    assert again.headers["Location"] == link
    assert len(sta.value(f"Datastreams({stream})/Observations")) == 1
    # The FeatureOfInterest defaults to the Thing's Location, made once.
    sta.post(f"Datastreams({stream})/Observations", {**sent, "phenomenonTime": "2026-01-10T08:01Z"})
    features = sta.value("FeaturesOfInterest", **{"$expand": "Observations"})
    (feature,) = [f for f in features if f["name"] == "WL-003 安装点"]
    assert feature["feature"] == {"type": "Point", "coordinates": [114.118, 22.548]}
    assert len(feature["Observations"]) == 2
    # The latest value is kept on the stream by ingest.
    refused = sta.post(f"Datastreams({stream})/Observations", {"result": "deep"})
    assert refused.status_code == 400
    assert refused.json()["code"] == "not_numeric"
    naive = sta.post(
        f"Datastreams({stream})/Observations",
        {"phenomenonTime": "2026-01-10T08:00:00", "result": 1},
    )
    assert naive.status_code == 422
    assert naive.json()["code"] == "sta_bad_time"


def test_filters_order_and_paging(sta: Caller) -> None:
    north = _make_gauge(sta, "WL-NORTH", lat=22.60)
    south = _make_gauge(sta, "WL-SOUTH", lat=22.50)
    north_stream, south_stream = _datastream(sta, north), _datastream(sta, south)
    _observe(sta, north_stream, [3, 8, 13, 21, 34], START)
    _observe(sta, south_stream, [1, 2, 3], START + timedelta(days=1))

    def results(**params: str) -> list[float]:
        return [o["result"] for o in sta.value("Observations", **params)]

    mine = f"(Datastream/id eq {north_stream} or Datastream/id eq {south_stream})"
    assert results(**{"$filter": f"{mine} and result gt 10", "$orderby": "result"}) == [13, 21, 34]
    assert results(
        **{"$filter": f"{mine} and Datastream/Thing/name eq 'WL-SOUTH'", "$orderby": "result desc"}
    ) == [3, 2, 1]
    assert results(**{"$filter": f"{mine} and (result add 1) mul 2 eq 18"}) == [8]
    assert results(**{"$filter": f"{mine} and result mod 2 eq 1", "$orderby": "result"}) == [
        1,
        3,
        3,
        13,
        21,
    ]
    assert results(**{"$filter": f"{mine} and not (result le 20)", "$orderby": "result"}) == [
        21,
        34,
    ]
    assert results(
        **{"$filter": f"{mine} and day(phenomenonTime) eq 11", "$orderby": "phenomenonTime"}
    ) == [1, 2, 3]
    assert results(
        **{
            "$filter": f"{mine} and phenomenonTime ge 2026-01-10T16:03:00+08:00",
            "$orderby": "phenomenonTime",
        }
    ) == [21, 34, 1, 2, 3]
    assert results(
        **{"$filter": f"{mine} and hour(phenomenonTime) eq 8 and minute(phenomenonTime) eq 4"}
    ) == [34]
    assert results(**{"$filter": f"{mine} and floor(result div 10) eq 2"}) == [21]
    # Two sort keys: by Thing name through the navigation path, then by result.
    ordered = sta.value(
        "Observations",
        **{"$filter": mine, "$orderby": "Datastream/Thing/name desc,result desc", "$top": "4"},
    )
    assert [o["result"] for o in ordered] == [3, 2, 1, 34]

    page = sta.get(
        "Observations",
        **{"$filter": mine, "$orderby": "result", "$top": "3", "$skip": "2", "$count": "true"},
    ).json()
    assert page["@iot.count"] == 8
    assert [o["result"] for o in page["value"]] == [3, 3, 8]
    assert "%24skip=5" in page["@iot.nextLink"]
    rest = sta.client.get(page["@iot.nextLink"], headers=sta.headers).json()
    assert [o["result"] for o in rest["value"]] == [13, 21, 34]
    assert "@iot.nextLink" not in rest


def test_string_functions_and_select(sta: Caller) -> None:
    _make_gauge(sta, "WL-Sungang-01")
    _make_gauge(sta, "WL-Qingshuihe-02")

    def names(expression: str) -> list[str]:
        found = sta.value(
            "Things", **{"$filter": expression, "$select": "name", "$orderby": "name"}
        )
        assert all(set(thing) == {"name"} for thing in found)
        return [thing["name"] for thing in found]

    assert names("startswith(name, 'WL-S')") == ["WL-Sungang-01"]
    assert names("endswith(name, '-02')") == ["WL-Qingshuihe-02"]
    assert names("substringof('gang', name)") == ["WL-Sungang-01"]
    assert names("contains(tolower(name), 'qing')") == ["WL-Qingshuihe-02"]
    assert names("toupper(name) eq 'WL-SUNGANG-01'") == ["WL-Sungang-01"]
    assert names("length(name) eq 16 and startswith(name, 'WL-')") == ["WL-Qingshuihe-02"]
    assert names("indexof(name, 'Sun') eq 3") == ["WL-Sungang-01"]
    assert names("substring(name, 3, 3) eq 'Qin'") == ["WL-Qingshuihe-02"]
    assert names("concat(concat(name, '/'), 'x') eq 'WL-Sungang-01/x'") == ["WL-Sungang-01"]
    assert names("trim(concat(' ', name)) eq 'WL-Sungang-01'") == ["WL-Sungang-01"]
    assert names("startswith(name, 'WL-') and properties/depth_limit eq 15") == [
        "WL-Qingshuihe-02",
        "WL-Sungang-01",
    ]
    assert names("Datastreams/name eq 'WL-Sungang-01 积水深度'") == ["WL-Sungang-01"]
    bad = sta.get("Things", **{"$filter": "name eq"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert sta.get("Things", **{"$filter": "nosuch eq 1"}).status_code == 400


def test_geo_functions(sta: Caller) -> None:
    near = _make_gauge(sta, "GEO-NEAR", lon=114.1201, lat=22.5501)
    _make_gauge(sta, "GEO-FAR", lon=114.3, lat=22.7)
    box = (
        "geography'POLYGON((114.11 22.54, 114.13 22.54, 114.13 22.56, 114.11 22.56, 114.11 22.54))'"
    )

    def located(expression: str) -> list[int]:
        found = sta.value(
            "Things",
            **{"$filter": f"startswith(name, 'GEO-') and {expression}", "$select": "id"},
        )
        return [thing["@iot.id"] for thing in found]

    assert located(f"geo.intersects(Locations/location, {box})") == [near]
    assert located(f"st_within(Locations/location, {box})") == [near]
    assert located(f"st_disjoint(Locations/location, {box})") != [near]
    assert located(f"st_contains({box}, Locations/location)") == [near]
    assert located("geo.distance(Locations/location, geography'POINT(114.12 22.55)') lt 0.01") == [
        near
    ]
    assert located(
        "geo.length(geography'LINESTRING(114 22, 114 23)') eq 1 and "
        "st_equals(Locations/location, geography'POINT(114.1201 22.5501)')"
    ) == [near]
    features = sta.value(
        "Locations", **{"$filter": f"st_intersects(location, {box}) and name eq 'GEO-NEAR 安装点'"}
    )
    assert len(features) == 1
    assert (
        sta.get("Things", **{"$filter": "geo.intersects(name, geography'POINT(1 2)')"}).status_code
        == 400
    )


def test_property_value_and_ref_paths(sta: Caller) -> None:
    thing = _make_gauge(sta, "WL-PATHS")
    assert sta.get(f"Things({thing})/name").json() == {"name": "WL-PATHS"}
    raw = sta.get(f"Things({thing})/name/$value")
    assert raw.text == "WL-PATHS"
    assert raw.headers["content-type"].startswith("text/plain")
    refs = sta.get(f"Things({thing})/Datastreams/$ref").json()
    (ref,) = refs["value"]
    assert set(ref) == {"@iot.selfLink"}
    assert ref["@iot.selfLink"].startswith("http://testserver/sta/v1.1/Datastreams(")
    assert sta.get(f"Things({thing})/$ref").json() == {
        "@iot.selfLink": f"http://testserver/sta/v1.1/Things({thing})"
    }
    assert sta.get("Things(987654321)").status_code == 404
    assert sta.get("Things(987654321)").json()["title"] == "实体不存在或不在您的辖区内"
    assert sta.get("Widgets").status_code == 404
    assert sta.get(f"Things({thing})/colour").status_code == 404


def test_patch_merge_and_json_patch(sta: Caller) -> None:
    thing = _make_gauge(sta, "WL-PATCH")
    merged = sta.patch(f"Things({thing})", {"description": "moved", "properties": {"a": 1}})
    assert merged.status_code == 200, merged.text
    assert sta.get(f"Things({thing})").json()["description"] == "moved"
    patched = sta.patch(
        f"Things({thing})",
        [
            {"op": "test", "path": "/name", "value": "WL-PATCH"},
            {"op": "replace", "path": "/name", "value": "WL-PATCHED"},
            {"op": "add", "path": "/properties/b", "value": [1, 2]},
            {"op": "remove", "path": "/properties/a"},
        ],
        content_type="application/json-patch+json",
    )
    assert patched.status_code == 200, patched.text
    body = sta.get(f"Things({thing})").json()
    assert body["name"] == "WL-PATCHED"
    assert body["properties"] == {"b": [1, 2]}
    failed = sta.patch(
        f"Things({thing})",
        [{"op": "test", "path": "/name", "value": "other"}],
        content_type="application/json-patch+json",
    )
    assert failed.status_code == 400
    assert failed.json()["code"] == "sta_patch_test_failed"

    # Moving the Thing: its Locations are replaced and the move is remembered.
    moved = sta.patch(
        f"Things({thing})",
        {
            "Locations": [
                {
                    "name": "新址",
                    "description": "",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [114.13, 22.56]},
                }
            ]
        },
    )
    assert moved.status_code == 200, moved.text
    locations = sta.value(f"Things({thing})/Locations")
    assert [loc["name"] for loc in locations] == ["新址"]
    history = sta.value(
        f"Things({thing})/HistoricalLocations", **{"$expand": "Locations", "$orderby": "id"}
    )
    assert [h["Locations"][0]["name"] for h in history] == ["WL-PATCH 安装点", "新址"]


def test_delete_cascades(sta: Caller) -> None:
    thing = _make_gauge(sta, "WL-DELETE")
    stream = _datastream(sta, thing)
    _observe(sta, stream, [1, 2], START)
    sensor = sta.get(f"Datastreams({stream})/Sensor").json()["@iot.id"]
    assert sta.delete(f"Things({thing})").status_code == 200
    assert sta.get(f"Things({thing})").status_code == 404
    assert sta.get(f"Datastreams({stream})").status_code == 404
    assert sta.value("Observations", **{"$filter": f"Datastream/id eq {stream}"}) == []
    assert sta.value("Observations", **{"$filter": f"Datastream/id eq {stream}"}) == []
    assert sta.get(f"Sensors({sensor})").status_code == 200

    other = _make_gauge(sta, "WL-DELETE-2")
    other_stream = _datastream(sta, other)
    _observe(sta, other_stream, [5], START)
    other_sensor = sta.get(f"Datastreams({other_stream})/Sensor").json()["@iot.id"]
    assert sta.delete(f"Sensors({other_sensor})").status_code == 200
    assert sta.get(f"Datastreams({other_stream})").status_code == 404
    assert sta.value(f"Things({other})/Datastreams") == []


def test_create_observations_with_a_data_array(sta: Caller) -> None:
    thing = _make_gauge(sta, "WL-ARRAY")
    stream = _datastream(sta, thing)
    response = sta.post(
        "CreateObservations",
        [
            {
                "Datastream": {"@iot.id": stream},
                "components": ["phenomenonTime", "result"],
                "dataArray@iot.count": 4,
                "dataArray": [
                    ["2026-01-10T08:00:00Z", 4.5],
                    ["2026-01-10T08:01:00Z", "high"],
                    ["2026-01-10T08:02:00Z", 5],
                    ["2026-01-10T08:00:00Z", 4.5],
                ],
            }
        ],
    )
    assert response.status_code == 201, response.text
    links = response.json()
    assert links[1] == "error"
    assert links[0].startswith("http://testserver/sta/v1.1/Observations(")
    assert links[3] == links[0]
    assert [
        o["result"]
        for o in sta.value(f"Datastreams({stream})/Observations", **{"$orderby": "phenomenonTime"})
    ] == [4.5, 5]


def test_truth_observations_filter_on_their_json_result(sta: Caller) -> None:
    thing = _make_gauge(sta, "COVER-01")
    body = sta.value(f"Things({thing})/Datastreams", **{"$expand": "Sensor,ObservedProperty"})[0]
    response = sta.post(
        "Datastreams",
        {
            "name": "COVER-01 open",
            "observationType": TRUTH,
            "unitOfMeasurement": {"name": "", "symbol": "", "definition": ""},
            "Thing": {"@iot.id": thing},
            "Sensor": {"@iot.id": body["Sensor"]["@iot.id"]},
            "ObservedProperty": {"@iot.id": body["ObservedProperty"]["@iot.id"]},
            "Observations": [
                {"phenomenonTime": "2026-01-10T08:00:00Z", "result": False},
                {"phenomenonTime": "2026-01-10T08:05:00Z", "result": True},
            ],
        },
    )
    assert response.status_code == 201, response.text
    stream = _id(response.headers["Location"])
    opened = sta.value(f"Datastreams({stream})/Observations", **{"$filter": "result eq true"})
    assert [o["phenomenonTime"] for o in opened] == ["2026-01-10T08:05:00Z"]


def test_multi_datastreams_take_one_result_per_property(sta: Caller) -> None:
    thing = _make_gauge(sta, "AQ-01")
    response = sta.post(
        "MultiDatastreams",
        {
            "name": "AQ-01 wind",
            "description": "speed and direction",
            "multiObservationDataTypes": [MEASUREMENT, MEASUREMENT],
            "unitOfMeasurements": [
                {"name": "metre per second", "symbol": "m/s", "definition": "ucum:m/s"},
                {"name": "degree", "symbol": "°", "definition": "ucum:deg"},
            ],
            "Thing": {"@iot.id": thing},
            "Sensor": {"name": "风速风向仪", "encodingType": "text/plain", "metadata": "W-1"},
            "ObservedProperties": [
                {"name": "风速", "definition": "https://cityos.example/def/wind_speed"},
                {"name": "风向", "definition": "https://cityos.example/def/wind_direction"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    multi = _id(response.headers["Location"])
    properties = sta.value(f"MultiDatastreams({multi})/ObservedProperties")
    assert {p["name"] for p in properties} == {"风速", "风向"}
    posted = sta.post(
        f"MultiDatastreams({multi})/Observations",
        {"phenomenonTime": "2026-01-10T08:00:00Z", "result": [3.4, 270]},
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["result"] == [3.4, 270]
    narrow = sta.post(
        f"MultiDatastreams({multi})/Observations",
        {"phenomenonTime": "2026-01-10T08:01:00Z", "result": [3.4]},
    )
    assert narrow.status_code == 400
    assert narrow.json()["code"] == "wrong_width"
    mismatched = sta.post(
        "MultiDatastreams",
        {
            "name": "bad",
            "multiObservationDataTypes": [MEASUREMENT],
            "unitOfMeasurements": [CM, CM],
            "Thing": {"@iot.id": thing},
            "Sensor": {"name": "s", "encodingType": "text/plain", "metadata": ""},
            "ObservedProperties": [{"@iot.id": properties[0]["@iot.id"]}],
        },
    )
    assert mismatched.status_code == 400


def test_a_new_location_for_a_thing_is_remembered(sta: Caller) -> None:
    thing = _make_gauge(sta, "WL-MOVE")
    response = sta.post(
        f"Things({thing})/Locations",
        {
            "name": "临时点位",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [114.125, 22.551]},
        },
    )
    assert response.status_code == 201, response.text
    assert [loc["name"] for loc in sta.value(f"Things({thing})/Locations")] == ["临时点位"]
    assert len(sta.value(f"Things({thing})/HistoricalLocations")) == 2
    # Observations made from now on are about the new place.
    stream = _datastream(sta, thing)
    observed = sta.post(
        f"Datastreams({stream})/Observations",
        {"phenomenonTime": "2026-01-10T08:00:00Z", "result": 1, "resultTime": None},
    ).json()
    feature = sta.get(f"Observations({observed['@iot.id']})/FeatureOfInterest").json()
    assert feature["feature"]["coordinates"] == [114.125, 22.551]


def test_bad_bodies_are_refused_with_a_reason(sta: Caller) -> None:
    unknown = sta.post("Things", {"name": "x", "colour": "red"})
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "sta_unknown_property"
    missing = sta.post("Sensors", {"name": "x"})
    assert missing.status_code == 400
    assert missing.json()["code"] == "sta_missing_property"
    bad_place = sta.post(
        "Locations", {"name": "x", "location": {"type": "Point", "coordinates": "here"}}
    )
    assert bad_place.status_code == 422
    assert bad_place.json()["code"] == "sta_bad_geojson"
    assert sta.get("Things", **{"$top": "many"}).status_code == 400
    assert sta.get("Things", **{"$resultFormat": "dataArray"}).status_code == 400
