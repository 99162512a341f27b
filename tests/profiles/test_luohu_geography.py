"""The Luohu profile's geography: real subdistricts, regions that tile the district, standard
addresses that lie where their codes say, landmarks where they really are, and a generator
that makes the same files every time. Pure file checks: no database."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import shapely
import yaml
from pyproj import Transformer
from shapely import Point, STRtree
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

import cityos.profiles

GEO = Path(cityos.profiles.__file__).parent / "luohu" / "geo"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "generate_luohu_geo.py"
LEVELS = ("district", "subdistricts", "communities", "grids")
SUBDISTRICTS = {
    "440303001": "桂园街道",
    "440303002": "黄贝街道",
    "440303003": "东门街道",
    "440303004": "翠竹街道",
    "440303005": "南湖街道",
    "440303006": "笋岗街道",
    "440303007": "东湖街道",
    "440303008": "莲塘街道",
    "440303009": "东晓街道",
    "440303010": "清水河街道",
}
# 梧桐山 is placed in 东湖: 梧桐山社区 and 梧桐山村 belong to 东湖街道.
LANDMARK_SUBDISTRICTS = {
    "梧桐山": "440303007",
    "罗湖口岸": "440303005",
    "东门老街": "440303003",
    "渔民村": "440303005",
    "深圳水库": "440303007",
}
_TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)


def utm(geom: Any) -> Any:
    """Geometry (or array) in UTM zone 50N metres, for areas."""
    return shapely.transform(
        geom, lambda xy: np.column_stack(_TO_UTM.transform(xy[:, 0], xy[:, 1]))
    )


@dataclass(frozen=True)
class Region:
    code: str
    props: dict[str, Any]
    geom: BaseGeometry
    metric: BaseGeometry


@cache
def collection(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GEO / name).read_text(encoding="utf-8"))
    return data


@cache
def regions(level: str) -> dict[str, Region]:
    features = collection(f"{level}.geojson")["features"]
    geoms = [shape(f["geometry"]) for f in features]
    metric = utm(np.array(geoms, dtype=object))
    return {
        f["properties"]["code"]: Region(f["properties"]["code"], f["properties"], g, m)
        for f, g, m in zip(features, geoms, metric, strict=True)
    }


@cache
def addresses() -> list[dict[str, str]]:
    with (GEO / "addresses.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_ten_real_subdistricts_with_their_codes() -> None:
    subs = regions("subdistricts")
    assert {code: r.props["name_zh"] for code, r in subs.items()} == SUBDISTRICTS
    assert all(r.props["parent"] == "440303" for r in subs.values())
    (district,) = regions("district").values()
    assert district.code == "440303"
    assert district.props["name_zh"] == "罗湖区"
    assert district.props["parent"] is None


def test_counts_of_communities_grids_and_addresses() -> None:
    assert 80 <= len(regions("communities")) <= 115
    assert 900 <= len(regions("grids")) <= 1200
    assert len(addresses()) >= 20_000


def test_district_has_the_real_extent() -> None:
    (district,) = regions("district").values()
    assert district.metric.area / 1e6 == pytest.approx(78.8, rel=0.03)
    assert district.geom.contains(Point(114.129, 22.546))
    minx, miny, maxx, maxy = district.geom.bounds
    assert 114.08 < minx < 114.10
    assert 114.22 < maxx < 114.24
    assert 22.52 < miny < 22.535
    assert 22.60 < maxy < 22.62


def test_east_lake_and_qingshuihe_are_the_largest_subdistricts() -> None:
    subs = sorted(regions("subdistricts").values(), key=lambda r: -r.metric.area)
    assert {r.props["name_zh"] for r in subs[:2]} == {"东湖街道", "清水河街道"}


@pytest.mark.parametrize("level", LEVELS)
def test_every_region_is_valid_synthetic_and_rounded(level: str) -> None:
    fc = collection(f"{level}.geojson")
    assert fc["type"] == "FeatureCollection"
    assert fc["synthetic"] is True
    assert fc["name"]
    for region in regions(level).values():
        assert region.geom.geom_type in {"Polygon", "MultiPolygon"}
        assert region.geom.is_valid, region.code
        assert region.props["synthetic"] is True
        assert region.props["name_zh"]
        assert region.props["name_en"]
        coords = shapely.get_coordinates(region.geom)
        assert np.array_equal(np.round(coords, 6), coords), region.code


@pytest.mark.parametrize(
    ("level", "parent_level", "digits"),
    [
        ("subdistricts", "district", 9),
        ("communities", "subdistricts", 12),
        ("grids", "communities", 15),
    ],
)
def test_children_tile_their_parents(level: str, parent_level: str, digits: int) -> None:
    children, parents = regions(level), regions(parent_level)
    by_parent: dict[str, list[Region]] = defaultdict(list)
    for child in children.values():
        assert re.fullmatch(rf"\d{{{digits}}}", child.code)
        assert child.props["parent"] == child.code[: digits - 3]
        assert child.props["parent"] in parents
        by_parent[child.props["parent"]].append(child)
    assert set(by_parent) == set(parents)

    metric = [c.metric for c in children.values()]
    left, right = STRtree(metric).query(metric, predicate="intersects")
    pairs = left < right
    overlaps = shapely.area(
        shapely.intersection(np.take(metric, left[pairs]), np.take(metric, right[pairs]))
    )
    assert overlaps.max(initial=0.0) < 1.0, "siblings overlap by 1 m² or more"

    for code, members in by_parent.items():
        parent = parents[code].metric
        union = shapely.union_all([m.metric for m in members])
        assert abs(union.area - parent.area) < 1e-4 * parent.area, code
        assert shapely.symmetric_difference(union, parent).area < 1e-4 * parent.area, code


def test_codes_and_names_are_unique() -> None:
    communities = regions("communities").values()
    names = [c.props["name_zh"] for c in communities]
    assert len(set(names)) == len(names)
    assert all(n.endswith("社区") for n in names)
    assert all(c.props["name_en"].endswith(" Community") for c in communities)
    for grid in regions("grids").values():
        community = regions("communities")[grid.props["parent"]].props["name_zh"]
        assert grid.props["name_zh"] == f"{community}第{int(grid.code[-3:])}网格"


@cache
def landmarks() -> dict[str, dict[str, Any]]:
    features = collection("layers/landmarks.geojson")["features"]
    return {f["properties"]["name"]: f for f in features}


def test_landmarks_sit_in_their_real_subdistricts() -> None:
    (district,) = regions("district").values()
    subs = regions("subdistricts")
    for name, feature in landmarks().items():
        point = shape(feature["geometry"])
        assert district.geom.contains(point), name
        assert feature["properties"]["synthetic"] is False
    for name, code in LANDMARK_SUBDISTRICTS.items():
        assert subs[code].geom.contains(shape(landmarks()[name]["geometry"])), name
    assert landmarks()["梧桐山"]["geometry"]["coordinates"] == [114.2146, 22.5823]
    assert landmarks()["罗湖口岸"]["geometry"]["coordinates"] == [114.1133, 22.5322]


def test_every_address_lies_in_the_regions_it_claims() -> None:
    rows = addresses()
    points = shapely.points([(float(r["lon"]), float(r["lat"])) for r in rows])
    for level, column in (
        ("grids", "grid"),
        ("communities", "community"),
        ("subdistricts", "subdistrict"),
    ):
        table = regions(level)
        geoms = np.array([table[r[column]].geom for r in rows], dtype=object)
        shapely.prepare(geoms)
        inside = shapely.contains(geoms, points)
        assert inside.all(), f"{(~inside).sum()} addresses outside their {column}"


def test_address_rows_are_well_formed() -> None:
    rows = addresses()
    codes = [r["code"] for r in rows]
    assert len(set(codes)) == len(codes)
    road_names = {f["properties"]["name"] for f in collection("layers/roads.geojson")["features"]}
    assert len(road_names) >= 40
    for r in rows:
        assert re.fullmatch(r"\d{19}", r["code"])
        assert r["code"][:15] == r["grid"]
        assert r["grid"][:12] == r["community"]
        assert r["community"][:9] == r["subdistrict"]
        assert r["number"].isdigit()
        assert r["road"] in road_names
        assert r["synthetic"] == "true"
    per_door = Counter((r["road"], r["number"]) for r in rows)
    assert sum(1 for n in per_door.values() if n > 1) > len(per_door) / 2


def test_the_example_address_is_in_chengdong_of_dongmen() -> None:
    (row,) = [
        r
        for r in addresses()
        if (r["road"], r["number"], r["building"], r["unit"])
        == ("人民南路", "3002", "国际贸易中心大厦", "A座")
    ]
    assert row["subdistrict"] == "440303003"
    assert regions("communities")[row["community"]].props["name_zh"] == "城东社区"
    text = (
        "深圳市罗湖区"
        + regions("subdistricts")[row["subdistrict"]].props["name_zh"]
        + regions("communities")[row["community"]].props["name_zh"]
        + f"{row['road']}{row['number']}号{row['building']}{row['unit']}"
    )
    assert text == "深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座"


PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def test_layers_match_their_catalogue() -> None:
    catalogue = yaml.safe_load((GEO / "layers.yaml").read_text(encoding="utf-8"))["layers"]
    assert {layer["id"] for layer in catalogue} == {
        "landmarks",
        "roads",
        "shelters",
        "hydrants",
        "flood_points",
        "schools",
        "hospitals",
    }
    (district,) = regions("district").values()
    for layer in catalogue:
        assert layer["title"]["zh"]
        assert layer["title"]["en"]
        fc = collection(f"layers/{layer['file']}")
        assert fc["synthetic"] is layer["synthetic"] is (layer["id"] != "landmarks")
        assert fc["features"], layer["id"]
        for feature in fc["features"]:
            assert feature["geometry"]["type"] == layer["geometry"]
            props = feature["properties"]
            for name, spec in layer["properties"].items():
                if spec["required"] or name in props:
                    value = props[name]
                    assert isinstance(value, PYTHON_TYPES[spec["type"]]), (layer["id"], name)
                    assert spec["type"] == "boolean" or not isinstance(value, bool)
            assert props["synthetic"] is layer["synthetic"]
            assert district.geom.covers(shape(feature["geometry"]).representative_point())


def test_synthetic_layers_have_the_expected_sizes() -> None:
    def count(layer: str) -> int:
        return len(collection(f"layers/{layer}.geojson")["features"])

    assert 30 <= count("shelters") <= 50
    assert 2500 <= count("hydrants") <= 3500
    assert 50 <= count("flood_points") <= 70
    assert 50 <= count("schools") <= 70
    assert 10 <= count("hospitals") <= 20
    risk = {
        f["properties"]["risk_level"] for f in collection("layers/flood_points.geojson")["features"]
    }
    assert risk <= {1, 2, 3}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_luohu_geo", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


HASH_COARSE = """
import hashlib, importlib.util, sys
spec = importlib.util.spec_from_file_location("generate_luohu_geo", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
for name, content in sorted(module.generate(60.0).files.items()):
    print(name, hashlib.sha256(content).hexdigest())
"""


def test_the_generator_is_deterministic() -> None:
    """A coarse run (60 m cells, seconds) gives the same bytes here and in a fresh process."""
    output = _generator().generate(60.0)
    here = "".join(
        f"{name} {hashlib.sha256(content).hexdigest()}\n"
        for name, content in sorted(output.files.items())
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    there = subprocess.run(
        [sys.executable, "-c", HASH_COARSE, str(SCRIPT)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert here == there
    assert set(output.files) == {
        str(p.relative_to(GEO)) for p in GEO.rglob("*") if p.is_file() and p.name != "README.md"
    }
