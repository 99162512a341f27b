"""The geo API as a map page or another system calls it, on the test district."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityos.foundation.geo.crs import Crs, distance_m, transform
from cityos.foundation.identity import issue_token
from cityos.settings import Settings
from tests.factories.identity import Assign, create_user

INSIDE = (114.1024, 22.5382)  # the fixture's first standard address, in grid 440303001001001


@pytest.fixture
def geo(client: TestClient, geo_loaded: Session) -> TestClient:
    """The app's client with the test district loaded and committed to its transaction."""
    geo_loaded.commit()
    return client


def test_regions_list_and_tree(geo: TestClient) -> None:
    body = geo.get("/api/v1/geo/regions", params={"level": "subdistrict"}).json()
    assert [r["code"] for r in body["regions"]] == ["440303001", "440303002"]
    assert all(r["synthetic"] for r in body["regions"])
    children = geo.get("/api/v1/geo/regions", params={"parent": "440303001"}).json()
    assert [r["code"] for r in children["regions"]] == ["440303001001", "440303001002"]
    collection = geo.get("/api/v1/geo/regions", params={"level": "grid", "geometry": True}).json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 8


def test_one_region_and_an_unknown_one(geo: TestClient) -> None:
    feature = geo.get("/api/v1/geo/regions/440303001").json()
    assert feature["properties"]["level"] == "subdistrict"
    missing = geo.get("/api/v1/geo/regions/440303999")
    assert missing.status_code == 404
    assert missing.json()["code"] == "region_not_found"


def test_locate_gives_the_chain_with_codes_and_names(geo: TestClient) -> None:
    body = geo.get("/api/v1/geo/locate", params={"lon": INSIDE[0], "lat": INSIDE[1]}).json()
    assert body["outside"] is False
    assert body["district"]["code"] == "440303"
    assert body["subdistrict"]["code"] == "440303001"
    assert body["grid"]["code"] == "440303001001001"
    assert body["grid"]["name"]["zh"] == "西南一网格"


def test_locate_in_gcj02_lands_where_wgs84_does(geo: TestClient) -> None:
    lon, lat = transform(INSIDE[0], INSIDE[1], source=Crs.WGS84, target=Crs.GCJ02)
    body = geo.get("/api/v1/geo/locate", params={"lon": lon, "lat": lat, "crs": "gcj02"}).json()
    assert body["crs"] == "gcj02"
    assert body["grid"]["code"] == "440303001001001"


def test_a_point_outside_is_an_answer_not_an_error(geo: TestClient) -> None:
    response = geo.get("/api/v1/geo/locate", params={"lon": 113.9, "lat": 22.5})
    assert response.status_code == 200
    assert response.json() == {"crs": "wgs84", "point": [113.9, 22.5], "outside": True}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lon": 200, "lat": 22.5}, "query.lon"),
        ({"lon": 114.1, "lat": -91}, "query.lat"),
        ({"lon": 114.1}, "query.lat"),
        ({"lon": 114.1, "lat": 22.5, "crs": "mars2000"}, "crs"),
    ],
)
def test_bad_coordinates_are_422_naming_the_field(
    geo: TestClient, params: dict[str, object], field: str
) -> None:
    response = geo.get("/api/v1/geo/locate", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}


def test_geocode_matches_a_standard_address_and_says_how_sure(geo: TestClient) -> None:
    body = geo.get(
        "/api/v1/geo/geocode", params={"address": "测试区东门中路２５６３號3棟2单元1201室"}
    ).json()
    assert body["status"] == "matched"
    assert body["code"] == "4403030010010010001"
    assert body["confidence"] >= 0.85
    assert body["chain"]["grid"]["code"] == body["regions"]["grid"] == "440303001001001"
    assert body["chain"]["grid"]["name"]["zh"] == "西南一网格"
    assert distance_m(body["lon"], body["lat"], 114.10238, 22.538163) < 0.5


def test_geocode_of_nothing_known_is_never_a_confident_guess(geo: TestClient) -> None:
    body = geo.get("/api/v1/geo/geocode", params={"address": "福田区深南大道6008号"}).json()
    assert body["status"] == "not_found"
    assert body["code"] is None
    wrong_door = geo.get("/api/v1/geo/geocode", params={"address": "东门中路2565号3栋2单元"})
    assert wrong_door.json()["status"] != "matched"


def test_reverse_gives_the_nearest_address_and_the_chain(geo: TestClient) -> None:
    body = geo.get("/api/v1/geo/reverse", params={"lon": 114.10239, "lat": 22.53817}).json()
    assert body["outside"] is False
    assert body["address"]["code"].startswith("440303001001001")
    assert body["address"]["distance_m"] < 50
    assert body["grid"]["code"] == "440303001001001"
    outside = geo.get("/api/v1/geo/reverse", params={"lon": 113.9, "lat": 22.5}).json()
    assert outside["outside"] is True


def test_transform_round_trips(geo: TestClient) -> None:
    there = geo.get(
        "/api/v1/geo/transform",
        params={"lon": 114.12, "lat": 22.55, "from": "wgs84", "to": "gcj02"},
    ).json()
    back = geo.get(
        "/api/v1/geo/transform",
        params={"lon": there["lon"], "lat": there["lat"], "from": "gcj02", "to": "EPSG:4326"},
    ).json()
    assert distance_m(back["lon"], back["lat"], 114.12, 22.55) < 0.5
    assert distance_m(there["lon"], there["lat"], 114.12, 22.55) > 300


def test_layers_are_ogc_api_features_collections(geo: TestClient) -> None:
    collections = geo.get("/api/v1/geo/collections").json()["collections"]
    assert [c["id"] for c in collections] == ["landmarks", "parks"]
    landmarks = collections[0]
    assert landmarks["count"] > 0
    assert landmarks["links"][0]["href"].endswith("/api/v1/geo/collections/landmarks/items")
    first = geo.get("/api/v1/geo/collections/landmarks/items", params={"limit": 2}).json()
    assert first["type"] == "FeatureCollection"
    assert first["numberReturned"] == 2
    seen = [f["id"] for f in first["features"]]
    next_link = next(link["href"] for link in first["links"] if link["rel"] == "next")
    rest = geo.get(next_link).json()
    assert not set(seen) & {f["id"] for f in rest["features"]}
    assert geo.get("/api/v1/geo/collections/nothing/items").status_code == 404


def test_items_filtered_by_bbox(geo: TestClient) -> None:
    everything = geo.get("/api/v1/geo/collections/landmarks/items", params={"limit": 100}).json()
    west = geo.get(
        "/api/v1/geo/collections/landmarks/items",
        params={"bbox": "114.10,22.53,114.12,22.56", "limit": 100},
    ).json()
    assert 0 < west["numberReturned"] < everything["numberReturned"]
    for feature in west["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert 114.10 <= lon <= 114.12
        assert 22.53 <= lat <= 22.56
    bad = geo.get("/api/v1/geo/collections/landmarks/items", params={"bbox": "1,2,3"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_bbox"


SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[114.10, 22.53], [114.12, 22.53], [114.12, 22.56], [114.10, 22.56], [114.10, 22.53]]
    ],
}


def test_within_a_polygon_matches_the_bbox_filter(geo: TestClient) -> None:
    by_bbox = geo.get(
        "/api/v1/geo/collections/landmarks/items",
        params={"bbox": "114.10,22.53,114.12,22.56", "limit": 100},
    ).json()
    by_polygon = geo.post(
        "/api/v1/geo/collections/landmarks/within", json={"geometry": SQUARE}
    ).json()
    assert by_polygon["numberMatched"] == by_bbox["numberReturned"] > 0
    assert {f["id"] for f in by_polygon["features"]} == {f["id"] for f in by_bbox["features"]}


def test_nearest_features_come_with_distances(geo: TestClient) -> None:
    body = geo.get(
        "/api/v1/geo/collections/landmarks/nearest", params={"lon": 114.11, "lat": 22.54, "k": 3}
    ).json()
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert len(distances) == 3
    assert distances == sorted(distances)


def test_a_self_intersecting_polygon_is_named_with_its_position(geo: TestClient) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[114.10, 22.53], [114.12, 22.56], [114.12, 22.53], [114.10, 22.56], [114.10, 22.53]]
        ],
    }
    response = geo.post("/api/v1/geo/collections/landmarks/within", json={"geometry": bowtie})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_geometry"
    assert "Self-intersection" in body["detail"]
    lon, lat = body["position"]
    assert abs(lon - 114.11) < 1e-6
    assert abs(lat - 22.545) < 1e-6


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        (
            {
                "type": "Polygon",
                "coordinates": [[[114.1, 22.53], [114.12, 22.53], [114.12, 22.56]]],
            },
            "not closed",
        ),
        ({"type": "Circle", "coordinates": [114.1, 22.5]}, "type must be one of"),
        ({"type": "Point", "coordinates": [114.1]}, ""),
    ],
)
def test_malformed_geojson_is_problem_json(
    geo: TestClient, geometry: dict[str, object], expected: str
) -> None:
    response = geo.post("/api/v1/geo/collections/landmarks/within", json={"geometry": geometry})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_geometry"
    assert expected in response.json()["detail"]


def _token_for(session: Session, settings: Settings, *permissions: str) -> dict[str, str]:
    user = create_user(
        session,
        f"geo-{'-'.join(p.replace('.', '_') for p in permissions) or 'none'}",
        *([Assign("geo-test-role", "district", list(permissions))] if permissions else []),
    )
    token = issue_token(session, settings=settings, user=user, ttl=timedelta(minutes=5))
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_batch_geocoding_of_a_csv_file(
    geo: TestClient, geo_loaded: Session, settings: Settings
) -> None:
    headers = _token_for(geo_loaded, settings, "geo.geocode.batch")
    upload = "编号,address\n1,东门中路2563号3栋2单元\n2,福田区深南大道6008号\n".encode()
    response = geo.post(
        "/api/v1/geo/geocode/batch",
        headers=headers,
        files={"file": ("地址.csv", upload, "text/csv")},
        data={"column": "address"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["x-geocode-rows"] == "2"
    assert response.headers["x-geocode-matched"] == "1"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = set(archive.namelist())
        assert names == {"地址.geocoded.csv", "地址.failures.csv", "summary.json"}
        results = archive.read("地址.geocoded.csv").decode("utf-8-sig")
        failures = archive.read("地址.failures.csv").decode("utf-8-sig")
    assert "4403030010010010001" in results
    assert "福田区深南大道6008号" in failures
    assert "东门中路2563号" not in failures


def test_batch_geocoding_needs_a_permission(
    geo: TestClient, geo_loaded: Session, settings: Settings
) -> None:
    files = {"file": ("a.csv", b"address\n1\n", "text/csv")}
    anonymous = geo.post("/api/v1/geo/geocode/batch", files=files)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    without = _token_for(geo_loaded, settings, "identity.profile.read")
    refused = geo.post("/api/v1/geo/geocode/batch", files=files, headers=without)
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"


def test_batch_geocoding_refuses_other_files_and_missing_columns(
    geo: TestClient, geo_loaded: Session, settings: Settings
) -> None:
    headers = _token_for(geo_loaded, settings, "geo.geocode.batch")
    pdf = geo.post(
        "/api/v1/geo/geocode/batch",
        headers=headers,
        files={"file": ("a.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert pdf.status_code == 415
    assert pdf.json()["code"] == "unsupported_file_type"
    missing = geo.post(
        "/api/v1/geo/geocode/batch",
        headers=headers,
        files={"file": ("a.csv", "地址\n东门中路\n".encode(), "text/csv")},
    )
    assert missing.status_code == 422
    assert missing.json()["code"] == "column_not_found"
