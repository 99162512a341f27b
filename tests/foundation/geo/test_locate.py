"""Point lookups and spatial queries, on SQLite and on PostgreSQL.

Every answer is compared with a full scan of the fixture files computed here without a
database, so passing on both backends means both give the same answers.
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import update
from sqlalchemy.orm import Session

from cityos.foundation import geo
from cityos.foundation.geo.index import box_around, distance_to_geometry_m
from cityos.foundation.geo.models import Region
from tests.foundation.geo.conftest import FIXTURE_PROFILE, read_json

W, X1, KINK, X3, E = 114.10, 114.11, 114.121, 114.13, 114.14
S, M, N = 22.53, 22.545, 22.56
QUERIES = [(114.125, 22.55), (114.1, 22.53), (114.16, 22.50), (114.131, 22.5401), (114.0, 22.7)]


def layer(name: str) -> list[tuple[str, Any]]:
    data = read_json(FIXTURE_PROFILE / "geo" / "layers" / f"{name}.geojson")
    return [(feature["id"], feature["geometry"]) for feature in data["features"]]


def full_scan_nearest(name: str, lon: float, lat: float, k: int) -> list[tuple[str, float]]:
    ranked = sorted(
        (distance_to_geometry_m(lon, lat, geometry), key) for key, geometry in layer(name)
    )
    return [(key, round(metres, 6)) for metres, key in ranked[:k]]


def answer(near: list[geo.Near]) -> list[tuple[str, float]]:
    return [(n.item.key, round(n.distance_m, 6)) for n in near]


def chain_codes(chain: geo.RegionChain | None) -> list[str] | None:
    return None if chain is None else [ref.code for ref in chain.levels()]


def test_a_point_inside_gets_its_whole_chain(geo_loaded: Session) -> None:
    chain = geo.locate(geo_loaded, lon=114.135, lat=22.535)
    assert chain is not None
    assert chain_codes(chain) == ["440303", "440303002", "440303002001", "440303002001002"]
    assert chain.subdistrict is not None
    assert (chain.subdistrict.name_zh, chain.subdistrict.name_en) == ("东街道", "East Subdistrict")
    assert chain.deepest.level == "grid"


def test_a_point_outside_the_district_is_outside(geo_loaded: Session) -> None:
    assert geo.locate(geo_loaded, lon=114.2, lat=22.6) is None
    grids, _ = geo.locate_many(geo_loaded, [114.2, 114.105], [22.6, 22.535])
    assert grids.tolist()[0] == -1
    assert geo.reverse(geo_loaded, lon=114.2, lat=22.6).outside


@pytest.mark.parametrize(
    ("lon", "lat", "grid"),
    [
        (X1, 22.54, "440303001001001"),  # edge between 西南一 and 西南二
        (W, 22.54, "440303001001001"),  # the district's own outer edge is inside
        (KINK, M, "440303001001002"),  # the kink, a corner of four grids
        (X3, M, "440303002001001"),  # a corner of four grids in the east
        (E, N, "440303002002002"),  # the district's north-east corner
    ],
)
def test_a_point_on_a_boundary_goes_to_the_smallest_code(
    geo_loaded: Session, lon: float, lat: float, grid: str
) -> None:
    chain = geo.locate(geo_loaded, lon=lon, lat=lat)
    assert chain is not None
    assert chain.grid is not None
    assert chain.grid.code == grid
    found, codes = geo.locate_many(geo_loaded, [lon], [lat])
    assert codes[int(found[0])] == grid


def test_locate_many_agrees_with_locate_on_10000_points(geo_loaded: Session) -> None:
    rng = np.random.default_rng(7)
    lons = rng.uniform(W - 0.01, E + 0.01, 10_000)
    lats = rng.uniform(S - 0.01, N + 0.01, 10_000)
    # A tenth of them exactly on grid edges, where the boundary rule decides.
    lons[:500] = X1
    lats[500:1000] = M
    index = geo.region_index(geo_loaded)
    found, codes = geo.locate_many(geo_loaded, lons, lats)
    assert codes == index.grid_codes
    one_by_one = []
    for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True):
        chain = index.locate(lon, lat)
        one_by_one.append(chain.grid.code if chain and chain.grid else None)
    assert [codes[i] if i >= 0 else None for i in found.tolist()] == one_by_one
    district = read_json(FIXTURE_PROFILE / "geo" / "district.geojson")["features"][0]
    inside = shapely.contains_xy(shape(district["geometry"]), lons, lats)
    assert (found[inside] >= 0).all()
    assert 0.3 < (found >= 0).mean() < 0.6


@pytest.mark.parametrize("name", ["landmarks", "parks"])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_nearest_features_equal_a_full_scan(geo_loaded: Session, name: str, k: int) -> None:
    for lon, lat in QUERIES:
        near = geo.nearest_features(geo_loaded, layer_id=name, lon=lon, lat=lat, k=k)
        assert answer(near) == full_scan_nearest(name, lon, lat, k)


def test_nearest_ties_are_broken_by_key(geo_loaded: Session) -> None:
    near = geo.nearest_features(geo_loaded, layer_id="landmarks", lon=114.125, lat=22.55, k=2)
    assert answer(near) == [("lm-twin-a", 0.0), ("lm-twin-b", 0.0)]
    assert geo.nearest_features(geo_loaded, layer_id="nothing", lon=114.1, lat=22.5, k=3) == []
    everything = geo.nearest_features(geo_loaded, layer_id="parks", lon=114.1, lat=22.5, k=10)
    assert len(everything) == 3


def test_a_point_inside_a_polygon_feature_is_at_distance_zero(geo_loaded: Session) -> None:
    near = geo.nearest_features(geo_loaded, layer_id="parks", lon=114.1195, lat=22.551, k=1)
    assert answer(near) == [("park-1", 0.0)]


@pytest.mark.parametrize("name", ["landmarks", "parks"])
def test_features_within_equal_a_full_scan(geo_loaded: Session, name: str) -> None:
    triangle = {
        "type": "Polygon",
        "coordinates": [[[114.10, 22.53], [114.14, 22.535], [114.12, 22.56], [114.10, 22.53]]],
    }
    square = shapely.box(*box_around(114.118, 22.55, 1500))
    areas: list[Any] = [(114.10, 22.53, 114.12, 22.545), triangle, square]
    for area in areas:
        geometry = geo.index.as_geometry(area)
        for predicate in ("intersects", "within"):
            test = shapely.intersects if predicate == "intersects" else shapely.within
            expected = sorted(key for key, g in layer(name) if test(shape(g), geometry))
            assert expected or predicate == "within"
            found = geo.features_within(
                geo_loaded,
                layer_id=name,
                area=area,
                predicate=predicate,  # type: ignore[arg-type]
            )
            assert [f.key for f in found] == expected


def test_nearest_addresses_and_reverse(geo_loaded: Session) -> None:
    with (FIXTURE_PROFILE / "geo" / "addresses.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    lon, lat = 114.1345, 22.5512
    metres = [geo.crs.distance_m(lon, lat, float(row["lon"]), float(row["lat"])) for row in rows]
    expected = sorted(zip(metres, [row["code"] for row in rows], strict=True))[:3]
    near = geo.nearest_addresses(geo_loaded, lon=lon, lat=lat, k=3)
    assert [(n.item.code, round(n.distance_m, 6)) for n in near] == [
        (code, round(m, 6)) for m, code in expected
    ]

    found = geo.reverse(geo_loaded, lon=lon, lat=lat, max_distance_m=5_000)
    assert not found.outside
    assert found.address is not None
    assert found.address.code == expected[0][1]
    assert found.distance_m == pytest.approx(expected[0][0])
    assert chain_codes(found.chain) == chain_codes(geo.locate(geo_loaded, lon=lon, lat=lat))
    assert found.chain is not None
    text = geo.address_text(found.address, found.chain, city="深圳市")
    assert text.startswith("深圳市测试区东街道东北社区")
    assert f"{found.address.number}号" in text
    assert geo.reverse(geo_loaded, lon=lon, lat=lat, max_distance_m=1.0).address is None


def test_the_region_index_is_kept_until_the_regions_change(geo_loaded: Session) -> None:
    first = geo.region_index(geo_loaded)
    assert geo.region_index(geo_loaded) is first
    geo_loaded.execute(update(Region).where(Region.code == "440303002").values(name_zh="新东街道"))
    chain = geo.locate(geo_loaded, lon=114.135, lat=22.535)
    assert chain is not None
    assert chain.subdistrict is not None
    assert chain.subdistrict.name_zh == "新东街道"
    assert geo.region_index(geo_loaded) is not first


def test_a_database_without_regions_locates_nothing(session: Session) -> None:
    assert geo.locate(session, lon=114.1, lat=22.54) is None
    found, codes = geo.locate_many(session, np.array([114.1]), np.array([22.54]))
    assert found.tolist() == [-1]
    assert codes == []
