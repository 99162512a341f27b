"""Coordinate systems of the maps used in China, and conversion between them.

Four systems, all longitude/latitude in degrees:

- ``wgs84``: GPS, OpenStreetMap, GeoJSON (EPSG:4326). The reference the others shift.
- ``cgcs2000``: China's national datum (EPSG:4490). Treated as WGS84: the two frames differ
  by a few centimetres, far below anything a city platform measures.
- ``gcj02``: the "Mars" coordinates required on maps published in China (高德, 腾讯, Google
  China). WGS84 shifted by a smooth, published obfuscation of a few hundred metres.
- ``bd09``: Baidu's "bd09ll", a second obfuscation applied on top of GCJ-02. Baidu's metric
  "bd09mc" is a projection, not a lon/lat system, and is not accepted.

GCJ-02 has no well-kept library: PROJ (and so pyproj) does not implement it, and the PyPI
packages that do are unmaintained single-file copies, many shipping only the one-step
approximate inverse, which is off by up to two metres in Luohu. So the formulas are written
here from their published definition, vectorised with numpy, and pinned by reference values
in the tests. Both reverse directions (GCJ-02 → WGS84, BD-09 → GCJ-02) are the exact inverse
of the forward formula, found by iteration, so a round trip returns the point it started from.

Metric helpers (`distance_m`, `area_m2`) work on WGS84: convert first.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any, Final, overload

import numpy as np
import numpy.typing as npt
import shapely.errors
from pyproj import Geod
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from cityos.kernel.errors import ValidationFailed

FloatArray = npt.NDArray[np.float64]
_Forward = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]


class Crs(StrEnum):
    """A lon/lat coordinate system a caller may send or ask for."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"
    CGCS2000 = "cgcs2000"


# Titles for this module's problem codes, for the geo module to register.
MESSAGES: Final[Mapping[str, Mapping[str, str]]] = {
    "unknown_crs": {"zh-CN": "不支持的坐标系", "en": "Unknown coordinate system"},
    "coordinates_out_of_range": {"zh-CN": "坐标超出范围", "en": "Coordinates out of range"},
    "invalid_geometry": {"zh-CN": "几何图形无效", "en": "Invalid geometry"},
}

# Aliases, compared after lower-casing and dropping spaces, '-', '_' and ':'.
_ALIASES: Final[Mapping[str, Crs]] = {
    "wgs84": Crs.WGS84,
    "4326": Crs.WGS84,
    "epsg4326": Crs.WGS84,
    "urnogcdefcrsepsg4326": Crs.WGS84,
    "crs84": Crs.WGS84,
    "ogccrs84": Crs.WGS84,
    "urnogcdefcrsogc1.3crs84": Crs.WGS84,
    "gcj02": Crs.GCJ02,
    "bd09": Crs.BD09,
    "bd09ll": Crs.BD09,
    "cgcs2000": Crs.CGCS2000,
    "4490": Crs.CGCS2000,
    "epsg4490": Crs.CGCS2000,
    "urnogcdefcrsepsg4490": Crs.CGCS2000,
}
_ACCEPTED_NAMES: Final = (
    "wgs84 (also EPSG:4326, WGS-84, CRS84), gcj02 (GCJ-02), bd09 (BD-09, bd09ll), "
    "cgcs2000 (EPSG:4490)"
)
_ALIAS_NOISE: Final = re.compile(r"[\s\-_:]")


def parse_crs(text: str, *, field: str = "crs") -> Crs:
    """The coordinate system named by ``text`` (case-insensitive, common aliases accepted)."""
    found = _ALIASES.get(_ALIAS_NOISE.sub("", str(text).lower()))
    if found is None:
        detail = f"unknown coordinate system {text!r}; use one of: {_ACCEPTED_NAMES}"
        raise ValidationFailed(
            detail,
            code="unknown_crs",
            errors=[{"field": field, "message": detail}],
            accepted=[crs.value for crs in Crs],
        )
    return found


def check_lon_lat(lon: float, lat: float, *, field_prefix: str = "") -> None:
    """Raise ``coordinates_out_of_range`` naming each of lon/lat that is not a usable degree."""
    errors = []
    for name, value, limit in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        field = f"{field_prefix}{name}"
        if not _is_number(value) or not math.isfinite(value) or abs(value) > limit:
            shown = repr(float(value)) if _is_number(value) else repr(value)
            errors.append(
                {
                    "field": field,
                    "message": f"{field} must be a number in [{-limit:g}, {limit:g}], got {shown}",
                }
            )
    if errors:
        raise ValidationFailed(
            "; ".join(error["message"] for error in errors),
            code="coordinates_out_of_range",
            errors=errors,
        )


# --- GCJ-02 -----------------------------------------------------------------------------
#
# The obfuscation adds to a WGS84 point an offset built from polynomials and sines of the
# point's position relative to (105°E, 35°N). The polynomials give the offset in metres,
# turned into degrees with the radii of curvature of the Krasovsky 1940 ellipsoid. Outside a
# rough box around China the published maps use WGS84 unchanged.

_KRASOVSKY_A: Final = 6378245.0
_KRASOVSKY_EE: Final = 0.00669342162296594323
_CHINA_LON: Final = (72.004, 137.8347)
_CHINA_LAT: Final = (0.8293, 55.8271)


def _wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    root_x = np.sqrt(np.abs(x))
    ripple_x = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    north_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * root_x
        + ripple_x
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    east_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * root_x
        + ripple_x
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    phi = lat / 180.0 * pi
    w = 1.0 - _KRASOVSKY_EE * np.sin(phi) ** 2
    root_w = np.sqrt(w)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (w * root_w)
    parallel_radius = _KRASOVSKY_A / root_w * np.cos(phi)
    d_lat = north_m * 180.0 / (meridian_radius * pi)
    d_lon = east_m * 180.0 / (parallel_radius * pi)
    in_china = (
        (lon >= _CHINA_LON[0])
        & (lon <= _CHINA_LON[1])
        & (lat >= _CHINA_LAT[0])
        & (lat <= _CHINA_LAT[1])
    )
    return lon + np.where(in_china, d_lon, 0.0), lat + np.where(in_china, d_lat, 0.0)


# --- BD-09 ------------------------------------------------------------------------------
#
# Baidu wobbles a GCJ-02 point's polar radius and angle (taken in degree space around 0°E,
# 0°N) by sines with a period of 0.12°, then shifts it by a constant.

_BD_X_PI: Final = math.pi * 3000.0 / 180.0
_BD_SHIFT_LON: Final = 0.0065
_BD_SHIFT_LAT: Final = 0.006


def _gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    radius = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    angle = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return radius * np.cos(angle) + _BD_SHIFT_LON, radius * np.sin(angle) + _BD_SHIFT_LAT


# --- Exact inverses ---------------------------------------------------------------------
#
# Both obfuscations move a point by under a kilometre, and the move varies slowly from place
# to place (by under 0.03 m per metre). So the fixed-point step p ← p + (target − forward(p))
# shrinks the error at least 30-fold, and five or six steps reach 1e-10°; points that have
# converged drop out. The step count is bounded: at the edge of the China box, where GCJ-02
# jumps back to WGS84, a point may have no preimage, and then the last step is returned.

_INVERSE_TOLERANCE_DEG: Final = 1e-10
_INVERSE_MAX_STEPS: Final = 20


def _inverse(forward: _Forward, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    target_lon, target_lat = lon.ravel(), lat.ravel()
    guess_lon, guess_lat = target_lon.copy(), target_lat.copy()
    todo = np.arange(target_lon.size)
    for _ in range(_INVERSE_MAX_STEPS):
        image_lon, image_lat = forward(guess_lon[todo], guess_lat[todo])
        miss_lon = target_lon[todo] - image_lon
        miss_lat = target_lat[todo] - image_lat
        guess_lon[todo] += miss_lon
        guess_lat[todo] += miss_lat
        # Converged points drop out; NaN compares False, so a NaN point drops out at once.
        still_off = (np.abs(miss_lon) > _INVERSE_TOLERANCE_DEG) | (
            np.abs(miss_lat) > _INVERSE_TOLERANCE_DEG
        )
        todo = todo[still_off]
        if todo.size == 0:
            break
    return guess_lon.reshape(lon.shape), guess_lat.reshape(lat.shape)


def _gcj02_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _inverse(_wgs84_to_gcj02, lon, lat)


def _bd09_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _inverse(_gcj02_to_bd09, lon, lat)


# The systems form a chain WGS84 (= CGCS2000) → GCJ-02 → BD-09; a conversion walks it.
_LEVEL: Final[Mapping[Crs, int]] = {Crs.WGS84: 0, Crs.CGCS2000: 0, Crs.GCJ02: 1, Crs.BD09: 2}
_UP: Final[tuple[_Forward, ...]] = (_wgs84_to_gcj02, _gcj02_to_bd09)
_DOWN: Final[tuple[_Forward, ...]] = (_gcj02_to_wgs84, _bd09_to_gcj02)


@overload
def transform(lon: float, lat: float, *, source: Crs, target: Crs) -> tuple[float, float]: ...


@overload
def transform(
    lon: npt.NDArray[Any] | Sequence[float],
    lat: npt.NDArray[Any] | Sequence[float],
    *,
    source: Crs,
    target: Crs,
) -> tuple[FloatArray, FloatArray]: ...


def transform(
    lon: float | npt.NDArray[Any] | Sequence[float],
    lat: float | npt.NDArray[Any] | Sequence[float],
    *,
    source: Crs,
    target: Crs,
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Convert points from ``source`` to ``target``: floats give floats, arrays give arrays."""
    lon_a, lat_a = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    start, end = _LEVEL[source], _LEVEL[target]
    for level in range(start, end):
        lon_a, lat_a = _UP[level](lon_a, lat_a)
    for level in range(start, end, -1):
        lon_a, lat_a = _DOWN[level - 1](lon_a, lat_a)
    if lon_a.ndim == 0:
        return float(lon_a), float(lat_a)
    return np.array(lon_a, dtype=np.float64), np.array(lat_a, dtype=np.float64)


# --- GeoJSON geometries -----------------------------------------------------------------

# How deep the positions sit inside ``coordinates`` for each GeoJSON geometry type.
_POSITION_DEPTH: Final[Mapping[str, int]] = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
_DECIMALS: Final = 7  # about 1 cm


def transform_geometry(
    geojson_geometry: Mapping[str, Any], *, source: Crs, target: Crs
) -> dict[str, Any]:
    """A copy of a GeoJSON geometry with every position converted and rounded to 7 decimals.

    Altitudes and foreign members are kept; a ``bbox`` is dropped, since it would be stale.
    """
    lons: list[float] = []
    lats: list[float] = []
    _collect_geometry(geojson_geometry, "", lons, lats)
    lon_a = np.array(lons, dtype=np.float64)
    lat_a = np.array(lats, dtype=np.float64)
    bad = (np.abs(lon_a) > 180.0) | (np.abs(lat_a) > 90.0) | ~np.isfinite(lon_a + lat_a)
    if bad.any():
        index = int(np.argmax(bad))
        message = (
            f"position {index} (in document order) is ({lons[index]!r}, {lats[index]!r}); "
            "lon must be in [-180, 180] and lat in [-90, 90]"
        )
        raise ValidationFailed(
            message,
            code="coordinates_out_of_range",
            errors=[{"field": "coordinates", "message": message}],
        )
    new_lon, new_lat = transform(lon_a, lat_a, source=source, target=target)
    converted = zip(
        np.round(new_lon, _DECIMALS).tolist(), np.round(new_lat, _DECIMALS).tolist(), strict=True
    )
    return _rebuild_geometry(geojson_geometry, converted)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {message}",
        code="invalid_geometry",
        errors=[{"field": field, "message": message}],
    )


def _collect_geometry(
    geometry: Mapping[str, Any], where: str, lons: list[float], lats: list[float]
) -> None:
    if not isinstance(geometry, Mapping):
        raise _invalid(where or "geometry", "must be a GeoJSON geometry object")
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list):
            raise _invalid(f"{where}geometries", "must be a list of geometries")
        for i, member in enumerate(members):
            _collect_geometry(member, f"{where}geometries[{i}].", lons, lats)
        return
    depth = _POSITION_DEPTH.get(kind) if isinstance(kind, str) else None
    if depth is None:
        raise _invalid(
            f"{where}type",
            f"{kind!r} is not one of {', '.join([*_POSITION_DEPTH, 'GeometryCollection'])}",
        )
    _collect_positions(geometry.get("coordinates"), depth, f"{where}coordinates", lons, lats)


def _collect_positions(
    coordinates: Any, depth: int, field: str, lons: list[float], lats: list[float]
) -> None:
    if not isinstance(coordinates, list | tuple):
        raise _invalid(field, "must be an array nested as the geometry type requires")
    if depth == 0:
        if not 2 <= len(coordinates) <= 3 or not all(_is_number(v) for v in coordinates):
            raise _invalid(
                field, f"a position is [lon, lat] or [lon, lat, alt], got {coordinates!r}"
            )
        lons.append(float(coordinates[0]))
        lats.append(float(coordinates[1]))
        return
    for part in coordinates:
        _collect_positions(part, depth - 1, field, lons, lats)


def _rebuild_geometry(
    geometry: Mapping[str, Any], converted: Iterator[tuple[float, float]]
) -> dict[str, Any]:
    result = {key: value for key, value in geometry.items() if key != "bbox"}
    if geometry["type"] == "GeometryCollection":
        result["geometries"] = [_rebuild_geometry(g, converted) for g in geometry["geometries"]]
    else:
        depth = _POSITION_DEPTH[geometry["type"]]
        result["coordinates"] = _rebuild_positions(geometry["coordinates"], depth, converted)
    return result


def _rebuild_positions(
    coordinates: Sequence[Any], depth: int, converted: Iterator[tuple[float, float]]
) -> list[Any]:
    if depth == 0:
        lon, lat = next(converted)
        return [lon, lat, *coordinates[2:]]
    return [_rebuild_positions(part, depth - 1, converted) for part in coordinates]


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# --- Metric helpers (WGS84) -------------------------------------------------------------

_GEOD: Final = Geod(ellps="WGS84")


@overload
def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float: ...


@overload
def distance_m(
    lon1: npt.NDArray[Any], lat1: npt.NDArray[Any], lon2: npt.NDArray[Any], lat2: npt.NDArray[Any]
) -> FloatArray: ...


def distance_m(
    lon1: float | npt.NDArray[Any],
    lat1: float | npt.NDArray[Any],
    lon2: float | npt.NDArray[Any],
    lat2: float | npt.NDArray[Any],
) -> float | FloatArray:
    """Geodesic distance in metres between WGS84 points; arrays broadcast against each other."""
    a_lon, a_lat, b_lon, b_lat = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2))
    )
    if a_lon.ndim == 0:
        _, _, metres = _GEOD.inv(float(a_lon), float(a_lat), float(b_lon), float(b_lat))
        return float(metres)
    _, _, distance = _GEOD.inv(a_lon.ravel(), a_lat.ravel(), b_lon.ravel(), b_lat.ravel())
    return np.asarray(distance, dtype=np.float64).reshape(a_lon.shape)


def area_m2(geometry: Mapping[str, Any] | BaseGeometry) -> float:
    """Geodesic area in m² of a WGS84 polygon or multipolygon, GeoJSON or shapely; 0 for lines.

    Each polygon is oriented first (exterior counter-clockwise, holes clockwise), so the
    winding a source happens to use cannot turn a hole into extra area.
    """
    if not isinstance(geometry, BaseGeometry):
        try:
            geometry = shape(geometry)
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            shapely.errors.ShapelyError,
        ) as exc:
            raise _invalid("geometry", f"not a GeoJSON geometry: {exc}") from exc
    return _area(geometry)


def _area(geometry: BaseGeometry) -> float:
    if geometry.geom_type == "Polygon":
        area, _ = _GEOD.geometry_area_perimeter(orient(geometry, sign=1.0))
        return abs(float(area))
    if hasattr(geometry, "geoms"):
        return sum(_area(part) for part in geometry.geoms)
    return 0.0
