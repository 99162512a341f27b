"""Topology of the region tree: each kind of fault is found, named with file, feature, code
and position, and surfaces as a profile issue."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import shape

from cityos.foundation.geo.topology import TopologyReport, check_feature_collections
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from tests.foundation.geo.conftest import (
    FIXTURE_PROFILE,
    LUOHU_GEO,
    read_json,
    write_json,
)

FILES = {
    "district": "geo/district.geojson",
    "subdistrict": "geo/subdistricts.geojson",
    "community": "geo/communities.geojson",
    "grid": "geo/grids.geojson",
}
W, X1, S, M, N = 114.10, 114.11, 22.53, 22.545, 22.56


def tree(root: Path = FIXTURE_PROFILE) -> dict[str, Any]:
    """The four region files of a profile, by level, as parsed JSON."""
    return {level: read_json(root / path) for level, path in FILES.items()}


def check(data: dict[str, Any]) -> TopologyReport:
    return check_feature_collections(
        [(FILES[level], level, data[level]) for level in FILES]  # type: ignore[misc]
    )


def ring(data: dict[str, Any], level: str, index: int) -> list[list[float]]:
    ring: list[list[float]] = data[level]["features"][index]["geometry"]["coordinates"][0]
    return ring


def only(report: TopologyReport, kind: str) -> Any:
    found = [fault for fault in report.faults if fault.kind == kind]
    assert len(found) == 1, report.faults
    return found[0]


def test_the_test_profile_tiles_without_a_fault() -> None:
    report = check(tree())
    assert report.faults == []
    assert report.ok
    assert set(report.coverage) == {
        "440303",
        "440303001",
        "440303002",
        "440303001001",
        "440303001002",
        "440303002001",
        "440303002002",
    }
    assert all(share == pytest.approx(1.0, abs=1e-9) for share in report.coverage.values())


def test_an_unclosed_ring_is_found_before_shapely_closes_it() -> None:
    data = tree()
    ring(data, "grid", 2).pop()
    report = check(data)
    fault = only(report, "unclosed_ring")
    assert (fault.file, fault.feature_index, fault.code) == (
        "geo/grids.geojson",
        2,
        "440303001002001",
    )
    assert fault.position == (W, M)
    # Closed again for the later checks, so it is not also a gap in its community.
    assert report.kinds() == {"unclosed_ring"}


def test_a_self_intersection_is_named_with_its_position() -> None:
    data = tree()
    bowtie = [[W, S], [X1, M], [X1, S], [W, M], [W, S]]
    data["grid"]["features"][0]["geometry"]["coordinates"] = [bowtie]
    report = check(data)
    fault = only(report, "invalid_geometry")
    assert fault.code == "440303001001001"
    assert "Self-intersection" in fault.message
    assert fault.position == pytest.approx((114.105, 22.5375))


def test_a_child_outside_its_parent_is_found_with_its_excess() -> None:
    data = tree()
    ring(data, "grid", 0)[0] = [W - 0.001, S]
    ring(data, "grid", 0)[-1] = [W - 0.001, S]
    report = check(data)
    fault = only(report, "outside_parent")
    assert (fault.file, fault.feature_index) == ("geo/grids.geojson", 0)
    assert "440303001001" in fault.message
    assert fault.position[0] < W


def test_a_child_outside_by_less_than_the_tolerance_passes() -> None:
    data = tree()
    # A corner 1e-8° (about 1 mm) out: a sliver of 0.9 m² along the 1.7 km edge.
    ring(data, "grid", 0)[0] = [W - 1e-8, S]
    ring(data, "grid", 0)[-1] = [W - 1e-8, S]
    assert "outside_parent" not in check(data).kinds()


def test_overlapping_siblings_are_found_where_they_overlap() -> None:
    data = tree()
    grid = ring(data, "grid", 0)
    grid[1] = [X1 + 0.002, S]
    grid[2] = [X1 + 0.002, M]
    report = check(data)
    fault = only(report, "overlap")
    assert fault.code == "440303001001002"
    assert "440303001001001" in fault.message
    lon, lat = fault.position
    assert X1 < lon < X1 + 0.002
    assert S < lat < M
    # It also spills out of nothing: both grids stay within their community.
    assert "outside_parent" not in report.kinds()


def test_a_gap_is_reported_with_the_share_its_parent_has_covered() -> None:
    data = tree()
    grid = ring(data, "grid", 7)  # 东北二网格: x 114.13–114.14, y 22.545–22.56
    for position in grid:
        if position[1] == N:
            position[1] = N - 0.001
    report = check(data)
    fault = only(report, "gap")
    assert (fault.file, fault.feature_index, fault.code) == (
        "geo/communities.geojson",
        3,
        "440303002002",
    )
    community = shape(data["community"]["features"][3]["geometry"])
    expected = 1 - (0.01 * 0.001) / community.area
    assert report.coverage["440303002002"] == pytest.approx(expected, abs=1e-5)
    assert report.coverage["440303002002"] < 0.9999
    assert f"{expected:.4%}"[:5] in fault.message
    assert fault.position[1] > N - 0.001


def test_code_faults_are_each_named() -> None:
    data = tree()
    grids = data["grid"]["features"]
    grids[5]["properties"]["code"] = "440303001002009"  # under 440303002001 by its parent
    grids[6]["properties"]["code"] = grids[7]["properties"]["code"]
    grids[4]["properties"]["parent"] = "440303009009"
    grids[3]["properties"]["parent"] = None
    grids[2]["properties"]["code"] = "440303001002"
    report = check(data)
    by_kind = {fault.kind: fault for fault in report.faults}
    assert by_kind["code_prefix"].code == "440303001002009"
    assert by_kind["duplicate_code"].feature_index == 7
    assert "feature 6" in by_kind["duplicate_code"].message
    assert by_kind["unknown_parent"].feature_index == 4
    assert by_kind["missing_parent"].feature_index == 3
    assert by_kind["code_format"].feature_index == 2


def test_raw_geojson_faults_are_found() -> None:
    data = tree()
    grids = data["grid"]["features"]
    grids[0]["geometry"] = {"type": "Point", "coordinates": [W, S]}
    grids[1]["geometry"]["coordinates"] = [[[W, S], [X1, S], [W, S]]]
    grids[2]["geometry"]["coordinates"] = [[[W, "x"], [X1, S], [X1, M], [W, S]]]
    grids[3] = {"type": "Feature", "properties": {}}
    report = check(data)
    assert {
        (f.kind, f.feature_index) for f in report.faults if f.file.endswith("grids.geojson")
    } >= {
        ("wrong_type", 0),
        ("too_few_points", 1),
        ("bad_coordinates", 2),
        ("malformed", 3),
    }


def test_faults_surface_as_profile_issues_with_file_feature_and_position(
    geo_profile: Path, geo_registry: Registry
) -> None:
    data = tree(geo_profile)
    ring(data, "grid", 2).pop()
    bowtie = [[W, S], [X1, M], [X1, S], [W, M], [W, S]]
    data["grid"]["features"][0]["geometry"]["coordinates"] = [bowtie]
    write_json(geo_profile / FILES["grid"], data["grid"])

    issues = profiles.validate(geo_profile, geo_registry)

    found = {(i.file, i.where, i.message.split("]")[0] + "]") for i in issues}
    assert ("geo/grids.geojson", "features.2", "[unclosed_ring]") in found
    assert ("geo/grids.geojson", "features.0", "[invalid_geometry]") in found
    invalid = next(i for i in issues if "invalid_geometry" in i.message)
    assert invalid.position == pytest.approx((114.105, 22.5375))
    assert "440303001001001" in invalid.message
    assert "at 114.105000, 22.537500" in str(invalid)


def test_a_schema_fault_stops_the_topology_check(geo_profile: Path, geo_registry: Registry) -> None:
    data = tree(geo_profile)
    data["grid"]["features"][1]["geometry"]["coordinates"][0][0] = [W, 95.0]
    write_json(geo_profile / FILES["grid"], data["grid"])
    issues = profiles.validate(geo_profile, geo_registry)
    assert [(i.file, i.where) for i in issues] == [
        ("geo/grids.geojson", "features.1.geometry.Polygon.coordinates.0.0.1")
    ]


def test_the_luohu_region_tree_checks_clean_in_seconds() -> None:
    data = tree(LUOHU_GEO.parent)
    started = time.perf_counter()
    report = check(data)
    elapsed = time.perf_counter() - started
    assert report.faults == []
    assert len(report.coverage) >= 1 + 10 + 80
    assert elapsed < 5.0
    assert shapely.is_valid(shape(data["district"]["features"][0]["geometry"]))
