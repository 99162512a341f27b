"""Coordinate systems: reference values, exact inverses, GeoJSON, validation, metrics."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from shapely.geometry import Polygon

from cityos.foundation.geo.crs import (
    Crs,
    area_m2,
    check_lon_lat,
    distance_m,
    parse_crs,
    transform,
    transform_geometry,
)
from cityos.kernel.errors import ValidationFailed

WGS84, GCJ02, BD09, CGCS2000 = Crs.WGS84, Crs.GCJ02, Crs.BD09, Crs.CGCS2000

# A 21 × 21 grid over Luohu District (441 points).
LUOHU_LON, LUOHU_LAT = np.meshgrid(np.linspace(114.08, 114.23, 21), np.linspace(22.52, 22.62, 21))

# Far from Luohu, inside China: Urumqi, Lhasa, Harbin, Sanya, Shanghai, Kunming, and a point
# on 105°E, where the GCJ-02 polynomial has a square-root kink.
CHINA_POINTS = [
    (87.6168, 43.8256),
    (91.1409, 29.6456),
    (126.6424, 45.7567),
    (109.5119, 18.2528),
    (121.4737, 31.2304),
    (102.8329, 24.8801),
    (105.0, 35.0),
]

OUTSIDE_CHINA = [(-0.1276, 51.5072), (-74.0060, 40.7128), (151.2093, -33.8688), (2.3522, 48.8566)]


def _near(actual: tuple[float, float], expected: tuple[float, float], tolerance: float) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# --- Reference values -----------------------------------------------------------------------


def test_wgs84_to_gcj02_matches_the_widely_published_beijing_value() -> None:
    # The example in the README and tests of wandergis/coordtransform, repeated in its ports.
    assert _near(
        transform(116.404, 39.915, source=WGS84, target=GCJ02),
        (116.41024449916938, 39.91640428150164),
        1e-9,
    )


def test_gcj02_to_bd09_matches_the_widely_published_beijing_value() -> None:
    assert _near(
        transform(116.404, 39.915, source=GCJ02, target=BD09),
        (116.41036949371029, 39.92133699351021),
        1e-9,
    )


def test_tiananmen_in_gcj02() -> None:
    assert _near(
        transform(116.397128, 39.916527, source=WGS84, target=GCJ02), (116.403373, 39.917931), 1e-5
    )


# City centres from gcoord's fixture (china-cities.json), given to 7 decimals. Its WGS84
# column was made independently and agrees to about half a metre, hence the looser bound.
CITY_FIXTURES = [
    ((115.3702248, 22.7888255), (115.3751647, 22.7861903), (115.3817179, 22.7918527)),  # 汕尾
    ((123.4253306, 41.8032629), (123.4314787, 41.8057023), (123.438095, 41.8114013)),  # 沈阳
    ((114.0164322, 33.0133556), (114.022306, 33.0115324), (114.0287781, 33.0176697)),  # 驻马店
]


@pytest.mark.parametrize(("wgs", "gcj", "bd"), CITY_FIXTURES)
def test_city_fixtures(
    wgs: tuple[float, float], gcj: tuple[float, float], bd: tuple[float, float]
) -> None:
    assert _near(transform(*wgs, source=WGS84, target=GCJ02), gcj, 1e-5)
    assert _near(transform(*gcj, source=GCJ02, target=BD09), bd, 1e-6)
    assert _near(transform(*bd, source=BD09, target=GCJ02), gcj, 1e-6)


def test_gcj02_shifts_luohu_by_a_few_hundred_metres() -> None:
    gcj_lon, gcj_lat = transform(LUOHU_LON, LUOHU_LAT, source=WGS84, target=GCJ02)
    shift = distance_m(LUOHU_LON, LUOHU_LAT, gcj_lon, gcj_lat)
    assert shift.min() > 300
    assert shift.max() < 700
    # In Shenzhen the shift is to the east and south.
    assert (gcj_lon > LUOHU_LON).all()
    assert (gcj_lat < LUOHU_LAT).all()


# --- Exact inverses -----------------------------------------------------------------------


def test_gcj02_round_trip_across_luohu_is_exact() -> None:
    gcj_lon, gcj_lat = transform(LUOHU_LON, LUOHU_LAT, source=WGS84, target=GCJ02)
    back_lon, back_lat = transform(gcj_lon, gcj_lat, source=GCJ02, target=WGS84)
    assert LUOHU_LON.size >= 400
    assert distance_m(LUOHU_LON, LUOHU_LAT, back_lon, back_lat).max() < 0.5
    assert np.abs(back_lon - LUOHU_LON).max() < 1e-9
    assert np.abs(back_lat - LUOHU_LAT).max() < 1e-9


def test_gcj02_inverse_lands_on_the_point_that_maps_forward_to_the_input() -> None:
    # Read the grid as GCJ-02 map clicks: their WGS84 maps forward onto the click exactly.
    wgs_lon, wgs_lat = transform(LUOHU_LON, LUOHU_LAT, source=GCJ02, target=WGS84)
    again_lon, again_lat = transform(wgs_lon, wgs_lat, source=WGS84, target=GCJ02)
    assert np.abs(again_lon - LUOHU_LON).max() < 1e-9
    assert np.abs(again_lat - LUOHU_LAT).max() < 1e-9


@pytest.mark.parametrize(("lon", "lat"), CHINA_POINTS)
def test_round_trips_elsewhere_in_china(lon: float, lat: float) -> None:
    for via in (GCJ02, BD09):
        there = transform(lon, lat, source=WGS84, target=via)
        assert distance_m(lon, lat, *there) > 50
        back = transform(*there, source=via, target=WGS84)
        assert distance_m(lon, lat, *back) < 0.5
        assert _near(back, (lon, lat), 1e-9)


def test_bd09_round_trips_across_luohu() -> None:
    bd_lon, bd_lat = transform(LUOHU_LON, LUOHU_LAT, source=WGS84, target=BD09)
    back_lon, back_lat = transform(bd_lon, bd_lat, source=BD09, target=WGS84)
    assert distance_m(LUOHU_LON, LUOHU_LAT, back_lon, back_lat).max() < 0.5
    assert np.abs(back_lon - LUOHU_LON).max() < 1e-9
    assert np.abs(back_lat - LUOHU_LAT).max() < 1e-9
    gcj_lon, gcj_lat = transform(LUOHU_LON, LUOHU_LAT, source=BD09, target=GCJ02)
    again_lon, again_lat = transform(gcj_lon, gcj_lat, source=GCJ02, target=BD09)
    assert np.abs(again_lon - LUOHU_LON).max() < 1e-9
    assert np.abs(again_lat - LUOHU_LAT).max() < 1e-9


def test_wgs84_to_bd09_goes_through_gcj02() -> None:
    direct = transform(114.12, 22.55, source=WGS84, target=BD09)
    stepwise = transform(
        *transform(114.12, 22.55, source=WGS84, target=GCJ02), source=GCJ02, target=BD09
    )
    assert direct == stepwise


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE_CHINA)
@pytest.mark.parametrize("crs", [GCJ02, CGCS2000])
def test_outside_china_gcj02_is_wgs84(lon: float, lat: float, crs: Crs) -> None:
    assert transform(lon, lat, source=WGS84, target=crs) == (lon, lat)
    assert transform(lon, lat, source=crs, target=WGS84) == (lon, lat)


def test_cgcs2000_is_treated_as_wgs84() -> None:
    assert transform(114.12, 22.55, source=CGCS2000, target=WGS84) == (114.12, 22.55)
    assert transform(114.12, 22.55, source=CGCS2000, target=GCJ02) == transform(
        114.12, 22.55, source=WGS84, target=GCJ02
    )
    assert transform(114.12, 22.55, source=BD09, target=CGCS2000) == transform(
        114.12, 22.55, source=BD09, target=WGS84
    )


def test_nan_passes_through_without_stalling_the_others() -> None:
    lon, lat = transform(
        np.array([114.12, math.nan]), np.array([22.55, 22.55]), source=GCJ02, target=WGS84
    )
    assert math.isnan(lon[1])
    assert _near((lon[0], lat[0]), transform(114.12, 22.55, source=GCJ02, target=WGS84), 0.0)


# --- Scalars and arrays ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [(WGS84, GCJ02), (GCJ02, WGS84), (WGS84, BD09), (BD09, WGS84), (BD09, GCJ02)],
)
def test_vectorised_results_equal_scalar_ones(source: Crs, target: Crs) -> None:
    lon_a, lat_a = transform(LUOHU_LON, LUOHU_LAT, source=source, target=target)
    assert lon_a.shape == LUOHU_LON.shape
    assert lon_a.dtype == np.float64
    for i, j in [(0, 0), (3, 17), (10, 10), (20, 20), (20, 0)]:
        lon_s, lat_s = transform(
            float(LUOHU_LON[i, j]), float(LUOHU_LAT[i, j]), source=source, target=target
        )
        assert isinstance(lon_s, float)
        assert lon_s == pytest.approx(lon_a[i, j], abs=1e-12)
        assert lat_s == pytest.approx(lat_a[i, j], abs=1e-12)


def test_same_system_returns_a_copy() -> None:
    lon = np.array([114.1, 114.2])
    out_lon, _ = transform(lon, np.array([22.5, 22.6]), source=GCJ02, target=GCJ02)
    out_lon[0] = 0.0
    assert lon[0] == 114.1


def test_lists_are_accepted_as_arrays() -> None:
    lon, lat = transform([114.1, 114.2], [22.5, 22.6], source=WGS84, target=GCJ02)
    assert isinstance(lon, np.ndarray)
    assert lon.shape == lat.shape == (2,)


# --- GeoJSON geometries ---------------------------------------------------------------------

RING = [[114.10, 22.54], [114.12, 22.54], [114.12, 22.56], [114.10, 22.56], [114.10, 22.54]]
HOLE = [[114.105, 22.545], [114.105, 22.55], [114.11, 22.55], [114.11, 22.545], [114.105, 22.545]]
GEOMETRIES: list[dict[str, Any]] = [
    {"type": "Point", "coordinates": [114.12, 22.55]},
    {"type": "MultiPoint", "coordinates": [[114.12, 22.55], [114.13, 22.56]]},
    {"type": "LineString", "coordinates": [[114.12, 22.55], [114.13, 22.56], [114.14, 22.57]]},
    {
        "type": "MultiLineString",
        "coordinates": [[[114.12, 22.55], [114.13, 22.56]], [[114.2, 22.6], [114.21, 22.61]]],
    },
    {"type": "Polygon", "coordinates": [RING, HOLE]},
    {
        "type": "MultiPolygon",
        "coordinates": [
            [RING, HOLE],
            [[[114.2, 22.6], [114.21, 22.6], [114.21, 22.61], [114.2, 22.6]]],
        ],
    },
    {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Point", "coordinates": [114.12, 22.55]},
            {"type": "LineString", "coordinates": [[114.12, 22.55], [114.13, 22.56]]},
        ],
    },
]


def _shape_of(value: Any) -> Any:
    """The nesting of a geometry with every number replaced by None."""
    if isinstance(value, dict):
        return {key: _shape_of(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape_of(item) for item in value]
    return None if isinstance(value, float) else value


def _positions(geometry: dict[str, Any]) -> list[list[float]]:
    if geometry["type"] == "GeometryCollection":
        return [p for member in geometry["geometries"] for p in _positions(member)]
    found: list[list[float]] = []

    def walk(value: Any) -> None:
        if isinstance(value[0], float | int):
            found.append(value)
        else:
            for part in value:
                walk(part)

    walk(geometry["coordinates"])
    return found


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=[g["type"] for g in GEOMETRIES])
def test_geometry_transform_keeps_structure_and_converts_every_position(
    geometry: dict[str, Any],
) -> None:
    converted = transform_geometry(geometry, source=WGS84, target=GCJ02)
    assert _shape_of(converted) == _shape_of(geometry)
    before, after = _positions(geometry), _positions(converted)
    for (lon, lat), (new_lon, new_lat) in zip(before, after, strict=True):
        expected = transform(lon, lat, source=WGS84, target=GCJ02)
        assert (new_lon, new_lat) == (round(expected[0], 7), round(expected[1], 7))
    back = transform_geometry(converted, source=GCJ02, target=WGS84)
    for original, returned in zip(before, _positions(back), strict=True):
        assert _near((returned[0], returned[1]), (original[0], original[1]), 2e-7)
    assert geometry == next(g for g in GEOMETRIES if g["type"] == geometry["type"])


def test_geometry_transform_keeps_altitude_and_foreign_members_and_drops_bbox() -> None:
    geometry = {
        "type": "LineString",
        "coordinates": [[114.12, 22.55, 31.5], [114.13, 22.56, 40.0]],
        "bbox": [114.12, 22.55, 114.13, 22.56],
        "name": "河堤",
    }
    converted = transform_geometry(geometry, source=WGS84, target=BD09)
    assert [p[2] for p in converted["coordinates"]] == [31.5, 40.0]
    assert converted["name"] == "河堤"
    assert "bbox" not in converted


def test_geometry_coordinates_are_rounded_to_seven_decimals() -> None:
    converted = transform_geometry(
        {"type": "Point", "coordinates": [114.123456789, 22.55]}, source=WGS84, target=GCJ02
    )
    for value in converted["coordinates"]:
        assert len(repr(value).split(".")[1]) <= 7


@pytest.mark.parametrize(
    ("geometry", "field"),
    [
        ({"type": "Circle", "coordinates": [114.1, 22.5]}, "type"),
        ({"coordinates": [114.1, 22.5]}, "type"),
        ({"type": "Point", "coordinates": [114.1]}, "coordinates"),
        ({"type": "Point", "coordinates": ["114.1", 22.5]}, "coordinates"),
        ({"type": "LineString", "coordinates": [114.1, 22.5]}, "coordinates"),
        (
            {"type": "GeometryCollection", "geometries": [{"type": "Point"}]},
            "geometries[0].coordinates",
        ),
    ],
)
def test_malformed_geometry_is_refused_naming_the_field(
    geometry: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        transform_geometry(geometry, source=WGS84, target=GCJ02)
    assert caught.value.code == "invalid_geometry"
    assert caught.value.errors[0]["field"] == field


def test_geometry_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        transform_geometry(
            {"type": "LineString", "coordinates": [[114.1, 22.5], [214.1, 22.5]]},
            source=WGS84,
            target=GCJ02,
        )
    assert caught.value.code == "coordinates_out_of_range"
    assert "position 1" in caught.value.detail


# --- Names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EPSG:4326", WGS84),
        ("4326", WGS84),
        ("wgs84", WGS84),
        ("WGS-84", WGS84),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", WGS84),
        ("gcj02", GCJ02),
        ("GCJ-02", GCJ02),
        ("bd09", BD09),
        ("BD-09", BD09),
        ("bd09ll", BD09),
        ("EPSG:4490", CGCS2000),
        ("CGCS2000", CGCS2000),
        (" epsg:4326 ", WGS84),
    ],
)
def test_parse_crs_accepts_common_names(text: str, expected: Crs) -> None:
    assert parse_crs(text) is expected


@pytest.mark.parametrize("text", ["EPSG:3857", "bd09mc", "mars", ""])
def test_parse_crs_refuses_unknown_names_listing_the_accepted_ones(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_crs(text, field="target_crs")
    assert caught.value.code == "unknown_crs"
    assert caught.value.status == 422
    assert caught.value.errors[0]["field"] == "target_crs"
    for name in ("wgs84", "gcj02", "bd09", "cgcs2000"):
        assert name in caught.value.detail


def test_crs_values_are_their_own_names() -> None:
    assert [parse_crs(crs.value) for crs in Crs] == list(Crs)


# --- Coordinate validation --------------------------------------------------------------------


def test_check_lon_lat_accepts_the_edges() -> None:
    check_lon_lat(180.0, -90.0)
    check_lon_lat(-180, 90)
    check_lon_lat(114.12, 22.55)


@pytest.mark.parametrize(
    ("lon", "lat", "field"),
    [
        (180.5, 22.5, "lon"),
        (114.1, -91.0, "lat"),
        (math.nan, 22.5, "lon"),
        (114.1, math.inf, "lat"),
        (True, 22.5, "lon"),
    ],
)
def test_check_lon_lat_names_the_bad_field(lon: float, lat: float, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_lon_lat(lon, lat)
    assert caught.value.code == "coordinates_out_of_range"
    assert caught.value.status == 422
    assert [error["field"] for error in caught.value.errors] == [field]
    assert field in caught.value.errors[0]["message"]


def test_check_lon_lat_reports_both_fields_with_the_prefix() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_lon_lat(200.0, 100.0, field_prefix="location.")
    assert [error["field"] for error in caught.value.errors] == ["location.lon", "location.lat"]


# --- Metrics ----------------------------------------------------------------------------------


def test_one_degree_of_latitude_near_luohu() -> None:
    assert 110_700 < distance_m(114.12, 22.0, 114.12, 23.0) < 110_800


def test_distance_vectorised_equals_scalar() -> None:
    lon2, lat2 = LUOHU_LON + 0.01, LUOHU_LAT - 0.02
    metres = distance_m(LUOHU_LON, LUOHU_LAT, lon2, lat2)
    assert metres.shape == LUOHU_LON.shape
    assert metres[4, 7] == pytest.approx(
        distance_m(
            float(LUOHU_LON[4, 7]), float(LUOHU_LAT[4, 7]), float(lon2[4, 7]), float(lat2[4, 7])
        ),
        abs=1e-6,
    )
    assert distance_m(114.12, 22.55, 114.12, 22.55) == 0.0


SQUARE = [[114.12, 22.55], [114.13, 22.55], [114.13, 22.56], [114.12, 22.56], [114.12, 22.55]]


def test_area_of_a_hundredth_degree_square_near_luohu() -> None:
    middle = math.radians(22.555)
    # One degree is 110.75 km along the meridian at this latitude, 111.32 km · cos φ along it.
    expected = (0.01 * 111_320 * math.cos(middle)) * (0.01 * 110_750)
    area = area_m2({"type": "Polygon", "coordinates": [SQUARE]})
    assert area == pytest.approx(expected, rel=5e-3)
    assert 1.13e6 < area < 1.15e6


def test_area_ignores_winding_and_subtracts_holes() -> None:
    ccw = area_m2({"type": "Polygon", "coordinates": [SQUARE]})
    assert area_m2({"type": "Polygon", "coordinates": [SQUARE[::-1]]}) == pytest.approx(ccw)
    hole = [
        [114.122, 22.552],
        [114.124, 22.552],
        [114.124, 22.554],
        [114.122, 22.554],
        [114.122, 22.552],
    ]
    holed = area_m2(Polygon(SQUARE, [hole]))
    same_winding = area_m2(Polygon(SQUARE, [hole[::-1]]))
    assert holed == pytest.approx(same_winding)
    assert holed == pytest.approx(ccw * (1 - 0.04), rel=1e-3)
    both = area_m2({"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE[::-1]]]})
    assert both == pytest.approx(2 * ccw)
    assert area_m2({"type": "LineString", "coordinates": SQUARE}) == 0.0


def test_area_refuses_what_is_not_geojson() -> None:
    with pytest.raises(ValidationFailed) as caught:
        area_m2({"type": "Polygon"})
    assert caught.value.code == "invalid_geometry"
