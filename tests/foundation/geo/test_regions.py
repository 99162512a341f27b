"""Regions, standard addresses and layers from the profile: loaded, kept, updated, queried."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from cityos.foundation import geo
from cityos.foundation.geo.crs import Crs, area_m2
from cityos.foundation.geo.index import spatial_backend
from cityos.foundation.geo.models import Feature, Layer, Region, StandardAddress
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.settings import Settings
from tests.foundation.geo.conftest import read_json, write_json


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def stamps(session: Session) -> dict[str, Any]:
    """Every geo row's last update time, to see what a load wrote."""
    return {
        **{f"r{code}": at for code, at in session.execute(select(Region.code, Region.updated_at))},
        **{
            f"a{code}": at
            for code, at in session.execute(
                select(StandardAddress.code, StandardAddress.updated_at)
            )
        },
        **{f"f{key}": at for key, at in session.execute(select(Feature.key, Feature.updated_at))},
        **{f"l{id_}": at for id_, at in session.execute(select(Layer.id, Layer.updated_at))},
    }


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_the_test_profile_loads_regions_addresses_and_layers(geo_loaded: Session) -> None:
    session = geo_loaded
    assert count(session, Region) == 1 + 2 + 4 + 8
    assert count(session, StandardAddress) == 48
    assert count(session, Layer) == 2
    assert count(session, Feature) == 45

    grid = session.get(Region, "440303002001001")
    assert grid is not None
    assert (grid.level, grid.parent_code, grid.name_zh, grid.synthetic) == (
        "grid",
        "440303002001",
        "东南一网格",
        True,
    )
    assert (grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat) == (
        114.12,
        22.53,
        114.13,
        22.545,
    )
    assert grid.area_m2 == pytest.approx(area_m2(grid.geometry))
    assert grid.area_m2 == pytest.approx(1_000 * 1_660, rel=0.05)
    assert 114.12 < grid.centroid_lon < 114.13

    address = session.get(StandardAddress, "4403030010010010001")
    assert address is not None
    assert (address.road, address.number, address.building, address.unit) == (
        "东门中路",
        "2563",
        "3栋",
        "2单元",
    )
    assert address.grid_code == "440303001001001"
    assert address.search_text == "东门中路2563号3栋2单元"

    landmarks = session.get(Layer, "landmarks")
    assert landmarks is not None
    assert landmarks.geometry_type == "Point"
    assert landmarks.properties["capacity"]["type"] == "integer"
    twin = session.scalars(select(Feature).where(Feature.key == "lm-twin-a")).one()
    assert (twin.lon, twin.lat) == (114.125, 22.55)
    park = session.scalars(select(Feature).where(Feature.key == "park-0")).one()
    assert park.lon is None
    assert park.geometry["type"] == "Polygon"


def test_loading_twice_writes_nothing(
    session: Session, geo_profile: Path, geo_registry: Registry, settings: Settings
) -> None:
    first = profiles.load(session, root=geo_profile, registry=geo_registry, settings=settings)
    assert first.summary == {"regions": 15, "addresses": 48, "layers": 2, "features": 45}
    before = stamps(session)

    again = profiles.load(session, root=geo_profile, registry=geo_registry, settings=settings)
    assert not again.changed

    # Other bytes, same content: the loaders run, compare, and write nothing.
    layers = geo_profile / "geo" / "layers.yaml"
    layers.write_text(layers.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
    third = profiles.load(session, root=geo_profile, registry=geo_registry, settings=settings)
    assert third.changed
    assert third.summary == {}
    assert stamps(session) == before


def test_a_changed_profile_updates_only_what_changed(
    session: Session, geo_profile: Path, geo_registry: Registry, settings: Settings
) -> None:
    profiles.load(session, root=geo_profile, registry=geo_registry, settings=settings)
    assert geo.locate(session, lon=114.135, lat=22.55) is not None
    grids_path = geo_profile / "geo" / "grids.geojson"
    grids = read_json(grids_path)
    grids["features"][7]["properties"]["name_zh"] = "东北第二网格"
    write_json(grids_path, grids)
    addresses_path = geo_profile / "geo" / "addresses.csv"
    rows = read_rows(addresses_path)
    moved = rows[0]
    moved["lon"], moved["lat"] = "114.101000", "22.531000"
    write_rows(addresses_path, rows[:-1])
    landmarks_path = geo_profile / "geo" / "layers" / "landmarks.geojson"
    landmarks = read_json(landmarks_path)
    landmarks["features"] = [f for f in landmarks["features"] if f["id"] != "lm-twin-b"]
    landmarks["features"][0]["geometry"]["coordinates"] = [114.139, 22.559]
    write_json(landmarks_path, landmarks)

    result = profiles.load(session, root=geo_profile, registry=geo_registry, settings=settings)

    assert result.summary == {"regions": 1, "addresses": 2, "features": 2}
    assert count(session, StandardAddress) == 47
    chain = geo.locate(session, lon=114.135, lat=22.55)
    assert chain is not None
    assert chain.grid is not None
    assert chain.grid.name_zh == "东北第二网格"
    nearest = geo.nearest_addresses(session, lon=114.101, lat=22.531, k=1)
    assert [(n.item.code, round(n.distance_m, 3)) for n in nearest] == [(moved["code"], 0.0)]
    twins = geo.features_within(
        session, layer_id="landmarks", area=(114.124, 22.549, 114.126, 22.551)
    )
    assert [f.key for f in twins] == ["lm-twin-a"]
    corner = geo.nearest_features(session, layer_id="landmarks", lon=114.139, lat=22.559, k=1)
    assert corner[0].item.key == landmarks["features"][0]["id"]


def test_the_spatial_index_follows_every_write(geo_loaded: Session) -> None:
    session = geo_loaded
    backend = spatial_backend(session)
    assert backend == ("rtree" if session.get_bind().dialect.name == "sqlite" else "postgis")

    def indexed() -> int:
        if backend == "rtree":
            return int(session.scalar(text("SELECT count(*) FROM geo_feature_rtree")) or 0)
        query = "SELECT count(*) FROM geo_feature WHERE geom IS NOT NULL"
        return int(session.scalar(text(query)) or 0)

    assert indexed() == count(session, Feature) == 45
    park = session.scalars(select(Feature).where(Feature.key == "park-0")).one()
    far = {"type": "Point", "coordinates": [114.2, 22.6]}
    session.execute(
        update(Feature)
        .where(Feature.id == park.id)
        .values(geometry=far, min_lon=114.2, max_lon=114.2, min_lat=22.6, max_lat=22.6)
    )
    session.expire_all()
    found = geo.features_within(session, layer_id="parks", area=(114.19, 22.59, 114.21, 22.61))
    assert [f.key for f in found] == ["park-0"]
    session.delete(session.scalars(select(Feature).where(Feature.key == "lm-00")).one())
    session.flush()
    assert indexed() == 44


def test_a_bad_csv_value_is_named_by_line_and_column(
    geo_profile: Path, geo_registry: Registry
) -> None:
    path = geo_profile / "geo" / "addresses.csv"
    rows = read_rows(path)
    rows[4]["lat"] = "north"
    write_rows(path, rows)
    issues = profiles.validate(geo_profile, geo_registry)
    assert [(i.file, i.line, i.where) for i in issues] == [("geo/addresses.csv", 6, "4.lat")]


def test_address_faults_are_listed_with_their_lines(
    geo_profile: Path, geo_registry: Registry
) -> None:
    path = geo_profile / "geo" / "addresses.csv"
    rows = read_rows(path)
    rows[2]["lon"] = "114.139000"  # far east of its grid in the west
    rows[4]["code"] = rows[3]["code"]
    rows[9]["grid"] = "440303001001009"
    rows[9]["code"] = "4403030010010090001"
    rows[11]["community"] = "440303002001"
    write_rows(path, rows)

    issues = profiles.validate(geo_profile, geo_registry)

    by_line = {issue.line: issue for issue in issues}
    assert set(by_line) == {4, 6, 11, 13}
    assert "outside its grid 440303001001001" in by_line[4].message
    assert by_line[4].position == (114.139, float(rows[2]["lat"]))
    assert "also on line 5" in by_line[6].message
    assert "not a known grid" in by_line[11].message
    assert "do not nest" in by_line[13].message


def test_layer_faults_are_listed(geo_profile: Path, geo_registry: Registry) -> None:
    path = geo_profile / "geo" / "layers" / "landmarks.geojson"
    landmarks = read_json(path)
    features = landmarks["features"]
    features[0]["properties"]["capacity"] = "many"
    features[1]["properties"]["colour"] = "red"
    del features[2]["properties"]["name"]
    features[4]["geometry"] = {"type": "LineString", "coordinates": [[114.1, 22.5], [114.2, 22.6]]}
    write_json(path, landmarks)
    (geo_profile / "geo" / "layers" / "stray.geojson").write_text(
        '{"type": "FeatureCollection", "features": []}', encoding="utf-8"
    )
    (geo_profile / "geo" / "layers" / "parks.geojson").unlink()

    issues = profiles.validate(geo_profile, geo_registry)

    found = {(i.file, i.where, i.message) for i in issues}
    landmarks_file = "geo/layers/landmarks.geojson"
    assert (
        landmarks_file,
        "features.0",
        "property 'capacity' must be a integer, not 'many'",
    ) in found
    assert (
        landmarks_file,
        "features.1",
        "property 'colour' is not declared for layer landmarks",
    ) in found
    assert (landmarks_file, "features.2", "property 'name' is required") in found
    assert (
        landmarks_file,
        "features.4",
        "geometry is a LineString; layer landmarks holds Points",
    ) in found
    assert ("geo/layers/stray.geojson", "", "not named by any layer in layers.yaml") in found
    missing = next(i for i in issues if "parks.geojson is missing" in i.message)
    assert (missing.file, missing.line) == ("geo/layers.yaml", 15)
    assert len(issues) == 6


def test_regions_are_queried_and_shaped_as_geojson(geo_loaded: Session) -> None:
    session = geo_loaded
    assert [r.code for r in geo.list_regions(session, level="subdistrict")] == [
        "440303001",
        "440303002",
    ]
    assert len(geo.list_regions(session, parent="440303002001")) == 2
    with pytest.raises(geo.RegionNotFound) as caught:
        geo.get_region(session, code="440303099")
    assert caught.value.code == "region_not_found"
    region = geo.get_region(session, code="440303001")
    wgs84 = geo.region_feature(region)
    assert wgs84["properties"]["name_zh"] == "西街道"
    assert wgs84["geometry"] == region.geometry
    gcj02 = geo.region_feature(region, target=Crs.GCJ02)
    shifted = gcj02["geometry"]["coordinates"][0][0]
    assert shifted != region.geometry["coordinates"][0][0]
    assert abs(shifted[0] - 114.10) < 0.01


def test_layers_list_with_counts_and_pages_hold_exact_matches(geo_loaded: Session) -> None:
    session = geo_loaded
    summaries = {s.layer.id: s for s in geo.list_layers(session)}
    assert [s.layer.id for s in geo.list_layers(session)] == ["landmarks", "parks"]
    assert summaries["landmarks"].count == 42
    assert summaries["parks"].extent == pytest.approx((114.105, 22.535, 114.1365, 22.5585))

    seen: list[str] = []
    cursor = None
    while True:
        page = geo.feature_page(session, layer_id="landmarks", cursor=cursor, limit=10)
        seen.extend(f.key for f in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 42

    # Inside park-1's bounding box but outside its polygon (the cut top-left corner).
    x, y, s = 114.118, 22.55, 0.003
    corner = (x + 0.01 * s, y + 0.9 * s, x + 0.03 * s, y + 0.95 * s)
    assert geo.feature_page(session, layer_id="parks", bbox=corner).items == []
    inside = (x + 0.5 * s, y + 0.4 * s, x + 0.6 * s, y + 0.5 * s)
    assert [f.key for f in geo.feature_page(session, layer_id="parks", bbox=inside).items] == [
        "park-1"
    ]
    with pytest.raises(geo.LayerNotFound):
        geo.feature_page(session, layer_id="volcanoes")


def test_the_luohu_geography_validates_loads_fast_and_locates_landmarks(
    session: Session, registry: Registry, geo_registry: Registry, settings: Settings
) -> None:
    root = profiles.resolve("luohu")
    assert profiles.validate(root, registry) == []
    started = time.perf_counter()
    result = profiles.load(session, root=root, registry=geo_registry, settings=settings)
    elapsed = time.perf_counter() - started
    assert elapsed < 10.0, f"loading the Luohu geography took {elapsed:.1f} s"
    assert result.summary["addresses"] >= 20_000
    assert 80 <= len(geo.list_regions(session, level="community")) <= 115
    subdistricts = geo.list_regions(session, level="subdistrict")
    assert [r.code for r in subdistricts] == [f"440303{n:03d}" for n in range(1, 11)]
    port = geo.locate(session, lon=114.1133, lat=22.5322)  # 罗湖口岸
    assert port is not None
    assert port.subdistrict is not None
    assert port.subdistrict.code == "440303005"
    assert port.subdistrict.name_zh.startswith("南湖")
    assert geo.locate(session, lon=114.30, lat=22.70) is None
    reverse = geo.reverse(session, lon=114.1156, lat=22.5478)  # 东门
    assert reverse.address is not None
    assert reverse.chain is not None
    assert reverse.chain.subdistrict is not None
    assert reverse.chain.subdistrict.code == "440303003"
