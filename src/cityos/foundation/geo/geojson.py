"""GeoJSON geometries sent by callers: checked before any query uses them.

A malformed structure or an invalid shape (an unclosed ring, a self-intersection) becomes
a ``ValidationFailed`` with code ``invalid_geometry`` that names the fault and, where there
is one, its position, so the caller can find it on a map.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from cityos.foundation.geo.crs import Crs, transform_geometry
from cityos.foundation.geo.topology import reason_position
from cityos.kernel.errors import ValidationFailed

_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}


def _invalid(message: str, position: tuple[float, float] | None = None) -> ValidationFailed:
    error: dict[str, Any] = {"field": "geometry", "message": message}
    if position is not None:
        error["position"] = list(position)
    return ValidationFailed(
        f"geometry: {message}",
        code="invalid_geometry",
        errors=[error],
        position=error.get("position"),
    )


def _rings(geometry: dict[str, Any]) -> list[list[Any]]:
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon" and isinstance(coordinates, list):
        return list(coordinates)
    if kind == "MultiPolygon" and isinstance(coordinates, list):
        return [ring for polygon in coordinates if isinstance(polygon, list) for ring in polygon]
    return []


def parse_geometry(geometry: Any, *, source: Crs = Crs.WGS84) -> BaseGeometry:
    """A valid shapely geometry in WGS84 from a caller's GeoJSON geometry in ``source``."""
    if not isinstance(geometry, dict) or geometry.get("type") not in _TYPES:
        raise _invalid(f"type must be one of {', '.join(sorted(_TYPES))}")
    for index, ring in enumerate(_rings(geometry)):
        if isinstance(ring, list) and len(ring) >= 1 and ring[0] != ring[-1]:
            first = ring[0]
            position = (float(first[0]), float(first[1])) if len(first) >= 2 else None
            raise _invalid(
                f"ring {index} is not closed (first and last positions differ)", position
            )
    wgs84 = transform_geometry(geometry, source=source, target=Crs.WGS84)
    try:
        parsed = shape(wgs84)
    except (ValueError, TypeError, IndexError, shapely.errors.GEOSException) as exc:
        raise _invalid(f"not a GeoJSON geometry: {exc}") from exc
    if parsed.is_empty:
        raise _invalid("the geometry is empty")
    reason = str(shapely.is_valid_reason(parsed))
    if reason != "Valid Geometry":
        raise _invalid(reason, reason_position(reason))
    return parsed
