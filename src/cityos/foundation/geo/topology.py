"""Topology of the region tree: every fault, each with its file, feature, code and position.

Checked, in this order:

1. each feature's raw GeoJSON, before shapely sees it (shapely would close an open ring
   silently): geometry type, coordinates, ring length, ring closure;
2. each geometry's validity (``shapely.is_valid_reason`` names the self-intersection and
   where it is);
3. codes: format per level, duplicates, parent present, known and one level up, and the code
   extending the parent's;
4. across levels: a child outside its parent, regions of one level overlapping, and each
   parent's coverage by its children (a gap when under 99.99 %).

Geometry is done where GeoJSON defines it, in lon/lat, whose edges are straight lines
(RFC 7946); projecting first (to UTM, say) would bend an edge differently in a parent and a
child that split it into a different number of vertices, and report metres of false
overlap. Areas are then turned into m² by the WGS84 ellipsoid's scale at each piece's
latitude, within a few parts per million over a district.

The tolerance is 1 m², or 0.1 % of the region's area when that is smaller: the children of
a generated or surveyed tiling share their boundary vertices, so a real fault shows as far
more than the rounding of coordinates to 6 decimals does. Overlap candidates come from an
STRtree and the geometric work is vectorised. Written here because no library checks a
hierarchical tiling: shapely gives the predicates, this file gives the rules.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from cityos.foundation.geo.models import LEVELS, Level

FaultKind = Literal[
    "malformed",
    "wrong_type",
    "bad_coordinates",
    "too_few_points",
    "unclosed_ring",
    "invalid_geometry",
    "code_format",
    "duplicate_code",
    "missing_parent",
    "unexpected_parent",
    "unknown_parent",
    "code_prefix",
    "outside_parent",
    "overlap",
    "gap",
]

CODE_DIGITS: Final[Mapping[Level, int]] = {
    "district": 6,
    "subdistrict": 9,
    "community": 12,
    "grid": 15,
}
_WGS84_A: Final = 6_378_137.0
_WGS84_E2: Final = 0.00669437999014
_REASON_POSITION: Final = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)")

Position = tuple[float, float]


@dataclass(frozen=True)
class TopologyFault:
    """One fault: where it is (file, feature index, code), what it is, and at which point."""

    file: str
    feature_index: int | None
    code: str | None
    kind: FaultKind
    message: str
    position: Position | None = None


@dataclass(frozen=True)
class RegionInput:
    """One region as a file gives it: ``geometry`` is the raw GeoJSON geometry."""

    file: str
    feature_index: int
    level: Level
    code: str
    parent: str | None
    geometry: Mapping[str, Any]


@dataclass(frozen=True)
class Tolerance:
    """How far a fault may go before it counts (areas in m²; ``coverage`` a share)."""

    area_m2: float = 1.0
    share: float = 0.001
    coverage: float = 0.9999

    def allows(self, excess_m2: float, area_m2: float) -> bool:
        return excess_m2 <= min(self.area_m2, self.share * area_m2) or excess_m2 <= 0.0


@dataclass
class TopologyReport:
    """The faults found, and the share of each parent's area its children cover."""

    faults: list[TopologyFault] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.faults

    def kinds(self) -> set[FaultKind]:
        return {fault.kind for fault in self.faults}


def check_regions(
    regions: Sequence[RegionInput], *, tolerance: Tolerance | None = None
) -> TopologyReport:
    """Every topology fault of a region tree given level by level (parents first or not)."""
    tolerance = tolerance or Tolerance()
    report = TopologyReport()
    geometries: list[BaseGeometry | None] = []
    for region in regions:
        faults, geometry = _raw_geometry(region)
        report.faults.extend(faults)
        geometries.append(geometry)
    _check_validity(regions, geometries, report)
    by_code = _check_codes(regions, report)
    shapes = np.array(geometries, dtype=object)
    _check_within_parents(regions, shapes, by_code, tolerance, report)
    _check_overlaps(regions, shapes, tolerance, report)
    _check_coverage(regions, shapes, by_code, tolerance, report)
    return report


def check_feature_collections(
    files: Sequence[tuple[str, Level, Any]], *, tolerance: Tolerance | None = None
) -> TopologyReport:
    """``check_regions`` on raw FeatureCollections: (file name, level, parsed GeoJSON)."""
    regions: list[RegionInput] = []
    malformed: list[TopologyFault] = []
    for file, level, collection in files:
        features = collection.get("features") if isinstance(collection, Mapping) else None
        if not isinstance(features, list):
            malformed.append(
                TopologyFault(file, None, None, "malformed", "not a GeoJSON FeatureCollection")
            )
            continue
        for index, feature in enumerate(features):
            region = _region_of(file, level, index, feature)
            if isinstance(region, TopologyFault):
                malformed.append(region)
            else:
                regions.append(region)
    report = check_regions(regions, tolerance=tolerance)
    report.faults[:0] = malformed
    return report


def _region_of(file: str, level: Level, index: int, feature: Any) -> RegionInput | TopologyFault:
    properties = feature.get("properties") if isinstance(feature, Mapping) else None
    geometry = feature.get("geometry") if isinstance(feature, Mapping) else None
    code = properties.get("code") if isinstance(properties, Mapping) else None
    if not isinstance(code, str) or not isinstance(geometry, Mapping):
        message = "a region feature needs properties.code (a string) and a geometry"
        return TopologyFault(file, index, None, "malformed", message)
    parent = properties.get("parent") if isinstance(properties, Mapping) else None
    return RegionInput(
        file, index, level, code, parent if isinstance(parent, str) else None, geometry
    )


# --- 1. raw GeoJSON ---------------------------------------------------------------------


def _fault(
    region: RegionInput, kind: FaultKind, message: str, at: Position | None = None
) -> TopologyFault:
    return TopologyFault(region.file, region.feature_index, region.code, kind, message, at)


def _raw_geometry(region: RegionInput) -> tuple[list[TopologyFault], BaseGeometry | None]:
    """The raw geometry's faults, and a shapely geometry for the later checks if usable.

    An unclosed ring is reported and then closed, so that one open ring does not also
    show up as a gap in its parent.
    """
    kind = region.geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        return [
            _fault(region, "wrong_type", f"geometry is {kind!r}, not a Polygon or MultiPolygon")
        ], None
    coordinates = region.geometry.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list | tuple) or not polygons:
        return [
            _fault(region, "bad_coordinates", "coordinates are not nested as the type requires")
        ], None
    faults: list[TopologyFault] = []
    shells: list[shapely.Polygon] = []
    broken = False
    for p, polygon in enumerate(polygons):
        if not isinstance(polygon, list | tuple) or not polygon:
            faults.append(_fault(region, "bad_coordinates", f"polygon {p} has no rings"))
            broken = True
            continue
        rings: list[np.ndarray[Any, Any]] = []
        for r, ring in enumerate(polygon):
            where = f"ring {r} of polygon {p}" if kind == "MultiPolygon" else f"ring {r}"
            array = _positions(ring)
            if array is None:
                message = f"{where}: positions must be [lon, lat] numbers in range"
                faults.append(_fault(region, "bad_coordinates", message))
                broken = True
                continue
            start = (float(array[0, 0]), float(array[0, 1]))
            if not np.array_equal(array[0], array[-1]):
                message = f"{where} does not end where it starts"
                faults.append(_fault(region, "unclosed_ring", message, start))
                array = np.vstack([array, array[:1]])
            if len(array) < 4:
                message = f"{where} has {len(array)} positions; a ring needs at least 4"
                faults.append(_fault(region, "too_few_points", message, start))
                broken = True
                continue
            rings.append(array)
        if not broken:
            shells.append(shapely.Polygon(rings[0], rings[1:]))
    if broken:
        return faults, None
    geometry: BaseGeometry = shells[0] if kind == "Polygon" else shapely.MultiPolygon(shells)
    return faults, geometry


def _positions(ring: Any) -> np.ndarray[Any, Any] | None:
    if not isinstance(ring, list | tuple) or not ring:
        return None
    try:
        array = np.array([position[:2] for position in ring], dtype=np.float64)
    except (TypeError, ValueError, IndexError):
        return None
    if array.ndim != 2 or array.shape[1] != 2 or not np.isfinite(array).all():
        return None
    if (np.abs(array[:, 0]) > 180).any() or (np.abs(array[:, 1]) > 90).any():
        return None
    return array


# --- 2. validity ------------------------------------------------------------------------


def _check_validity(
    regions: Sequence[RegionInput], geometries: list[BaseGeometry | None], report: TopologyReport
) -> None:
    present = [i for i, g in enumerate(geometries) if g is not None]
    if not present:
        return
    candidates = np.array([geometries[i] for i in present], dtype=object)
    valid = shapely.is_valid(candidates)
    for i, ok in zip(present, valid, strict=True):
        if ok:
            continue
        geometry = geometries[i]
        reason = str(shapely.is_valid_reason(geometry))
        report.faults.append(
            _fault(regions[i], "invalid_geometry", reason, reason_position(reason))
        )
        # Later checks measure areas, which an invalid polygon gets wrong: repair a copy.
        geometries[i] = shapely.make_valid(geometry)


def reason_position(reason: str) -> Position | None:
    """The (lon, lat) that a ``shapely.is_valid_reason`` text names, if it names one."""
    match = _REASON_POSITION.search(reason)
    return (float(match.group(1)), float(match.group(2))) if match else None


# --- 3. codes ---------------------------------------------------------------------------


def _check_codes(regions: Sequence[RegionInput], report: TopologyReport) -> dict[str, int]:
    """Code faults; returns the index of the first region of each code."""
    first: dict[str, int] = {}
    for i, region in enumerate(regions):
        if region.code in first:
            other = regions[first[region.code]]
            message = (
                f"code {region.code} is also used by feature {other.feature_index} of {other.file}"
            )
            report.faults.append(_fault(region, "duplicate_code", message))
        else:
            first[region.code] = i
    for region in regions:
        digits = CODE_DIGITS[region.level]
        if not (region.code.isascii() and region.code.isdigit() and len(region.code) == digits):
            message = f"a {region.level} code has {digits} digits, not {region.code!r}"
            report.faults.append(_fault(region, "code_format", message))
            continue
        level_index = LEVELS.index(region.level)
        if level_index == 0:
            if region.parent is not None:
                report.faults.append(
                    _fault(region, "unexpected_parent", "a district has no parent")
                )
            continue
        if region.parent is None:
            report.faults.append(
                _fault(region, "missing_parent", f"a {region.level} needs a parent")
            )
            continue
        parent_level = LEVELS[level_index - 1]
        if (
            not region.code.startswith(region.parent)
            or len(region.parent) != CODE_DIGITS[parent_level]
        ):
            message = f"code {region.code} must be its parent's code {region.parent} + 3 digits"
            report.faults.append(_fault(region, "code_prefix", message))
        parent = first.get(region.parent)
        if parent is None or regions[parent].level != parent_level:
            message = f"parent {region.parent} is not a known {parent_level}"
            report.faults.append(_fault(region, "unknown_parent", message))
    return first


# --- 4. across regions, in metres -------------------------------------------------------


def _m2(geometries: Any) -> np.ndarray[Any, Any]:
    """Areas in m² of lon/lat geometries: degree² times the ellipsoid's scale at the middle
    latitude of each (meridian × prime-vertical radius × cos(lat))."""
    degrees2 = shapely.area(geometries)
    bounds = shapely.bounds(geometries)
    lat = np.radians(np.nan_to_num((bounds[..., 1] + bounds[..., 3]) / 2.0))
    w = 1.0 - _WGS84_E2 * np.sin(lat) ** 2
    meridian = _WGS84_A * (1.0 - _WGS84_E2) / w**1.5
    normal = _WGS84_A / np.sqrt(w)
    return np.asarray(degrees2 * meridian * normal * np.cos(lat) * (math.pi / 180.0) ** 2)


def _area_m2(geometry: BaseGeometry) -> float:
    return float(_m2(geometry))


def _where(geometry: BaseGeometry) -> Position | None:
    """A point inside the largest part of ``geometry``."""
    if geometry.is_empty:
        return None
    parts = getattr(geometry, "geoms", [geometry])
    largest = max(parts, key=lambda part: part.area)
    point = largest.representative_point()
    return (round(float(point.x), 7), round(float(point.y), 7))


def _parent_index(
    region: RegionInput, by_code: Mapping[str, int], regions: Sequence[RegionInput]
) -> int | None:
    if region.parent is None or region.level == LEVELS[0]:
        return None
    index = by_code.get(region.parent)
    if index is None or regions[index].level != LEVELS[LEVELS.index(region.level) - 1]:
        return None
    return index


def _check_within_parents(
    regions: Sequence[RegionInput],
    shapes: np.ndarray[Any, Any],
    by_code: Mapping[str, int],
    tolerance: Tolerance,
    report: TopologyReport,
) -> None:
    pairs = [
        (i, parent)
        for i, region in enumerate(regions)
        if shapes[i] is not None
        and (parent := _parent_index(region, by_code, regions)) is not None
        and shapes[parent] is not None
    ]
    if not pairs:
        return
    children, parents = (np.array(side, dtype=np.intp) for side in zip(*pairs, strict=True))
    shapely.prepare(shapes[parents])
    covered = shapely.covers(shapes[parents], shapes[children])
    todo = ~covered
    outside = shapely.difference(shapes[children[todo]], shapes[parents[todo]])
    for child, parent, part in zip(children[todo], parents[todo], outside, strict=True):
        area = _area_m2(shapes[child])
        excess = _area_m2(part)
        if tolerance.allows(excess, area):
            continue
        message = (
            f"{excess:.1f} m² ({excess / area:.2%}) lies outside its parent {regions[parent].code}"
        )
        report.faults.append(_fault(regions[child], "outside_parent", message, _where(part)))


def _check_overlaps(
    regions: Sequence[RegionInput],
    shapes: np.ndarray[Any, Any],
    tolerance: Tolerance,
    report: TopologyReport,
) -> None:
    for level in LEVELS:
        members = np.array(
            [i for i, r in enumerate(regions) if r.level == level and shapes[i] is not None],
            dtype=np.intp,
        )
        if len(members) < 2:
            continue
        geometries = shapes[members]
        tree = shapely.STRtree(geometries)
        left, right = tree.query(geometries, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        # Neighbours share an edge; only those whose interiors meet can overlap.
        inner = shapely.relate_pattern(geometries[left], geometries[right], "T********")
        left, right = left[inner], right[inner]
        if not len(left):
            continue
        overlaps = shapely.intersection(geometries[left], geometries[right])
        areas = _m2(overlaps)
        sizes = np.minimum(_m2(geometries[left]), _m2(geometries[right]))
        for a, b, part, area, size in zip(left, right, overlaps, areas, sizes, strict=True):
            if tolerance.allows(float(area), float(size)):
                continue
            first, second = regions[members[a]], regions[members[b]]
            message = (
                f"overlaps {first.code} ({first.file} feature {first.feature_index})"
                f" by {area:.1f} m²"
            )
            report.faults.append(_fault(second, "overlap", message, _where(part)))


def _check_coverage(
    regions: Sequence[RegionInput],
    shapes: np.ndarray[Any, Any],
    by_code: Mapping[str, int],
    tolerance: Tolerance,
    report: TopologyReport,
) -> None:
    levels_present = {region.level for region in regions}
    children: dict[int, list[int]] = defaultdict(list)
    for i, region in enumerate(regions):
        parent = _parent_index(region, by_code, regions)
        if parent is not None and shapes[i] is not None:
            children[parent].append(i)
    for i, region in enumerate(regions):
        level_index = LEVELS.index(region.level)
        if level_index + 1 >= len(LEVELS) or LEVELS[level_index + 1] not in levels_present:
            continue
        if shapes[i] is None or by_code.get(region.code) != i:
            continue
        parent = shapes[i]
        area = _area_m2(parent)
        if area <= 0:
            continue
        union = shapely.union_all(shapes[children[i]]) if children[i] else shapely.Polygon()
        missing = shapely.difference(parent, union)
        gap = _area_m2(missing)
        share = 1.0 - gap / area
        share = min(1.0, max(0.0, share))
        report.coverage[region.code] = share
        if share >= tolerance.coverage or math.isclose(share, tolerance.coverage):
            continue
        message = (
            f"its children cover {share:.4%} of it: a gap of {gap:.1f} m²"
            f" (at least {tolerance.coverage:.2%} needed)"
        )
        report.faults.append(_fault(region, "gap", message, _where(missing)))
