"""The geometry behind the SensorThings geo functions, the same SQL on both databases.

Filters are written with PostGIS's names (``ST_Intersects(ST_GeomFromGeoJSON(..),
ST_GeomFromText('POINT(..)', 4326))``). PostgreSQL runs them in PostGIS; on SQLite this
module registers Python functions of the same names (shapely, geometries passed as WKB) on
every new connection, so a query does not care which database answers it. Distances and
lengths are in the units of the coordinates (degrees for WGS 84), as PostGIS gives them for
a ``geometry``. PostgreSQL without PostGIS cannot run them: the caller gets a 501.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Engine, Text, cast, event, func, literal, literal_column, text
from sqlalchemy.orm import Session

from cityos.kernel.db import is_postgresql
from cityos.kernel.errors import DomainError

SRID = 4326
PREDICATES = {
    "geo.intersects": "ST_Intersects",
    "st_intersects": "ST_Intersects",
    "st_within": "ST_Within",
    "st_equals": "ST_Equals",
    "st_disjoint": "ST_Disjoint",
    "st_touches": "ST_Touches",
    "st_overlaps": "ST_Overlaps",
    "st_crosses": "ST_Crosses",
    "st_contains": "ST_Contains",
}
MEASURES = {"geo.distance": ("ST_Distance", 2), "geo.length": ("ST_Length", 1)}


class GeoUnavailable(DomainError):
    """The database has no spatial functions (PostgreSQL without PostGIS)."""

    status = 501
    code = "sta_geo_unavailable"


# --- SQLite: the PostGIS names in Python ------------------------------------------------------


def _from_wkb(blob: bytes | None) -> BaseGeometry | None:
    return None if blob is None else shapely.from_wkb(blob)


def _geom_from_geojson(document: str | None) -> bytes | None:
    if document is None:
        return None
    value = json.loads(document)
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    return shapely.to_wkb(shape(value)) if value else None


def _geom_from_text(wkt: str | None, _srid: int | None = None) -> bytes | None:
    return None if wkt is None else shapely.to_wkb(shapely.from_wkt(wkt))


def _predicate(name: str) -> Callable[[bytes | None, bytes | None], int | None]:
    test = getattr(BaseGeometry, name)

    def apply(a: bytes | None, b: bytes | None) -> int | None:
        first, second = _from_wkb(a), _from_wkb(b)
        if first is None or second is None:
            return None
        return int(bool(test(first, second)))

    return apply


def _distance(a: bytes | None, b: bytes | None) -> float | None:
    first, second = _from_wkb(a), _from_wkb(b)
    return None if first is None or second is None else float(first.distance(second))


def _length(a: bytes | None) -> float | None:
    geometry = _from_wkb(a)
    return None if geometry is None else float(geometry.length)


_SQLITE_FUNCTIONS: tuple[tuple[str, int, Callable[..., Any]], ...] = (
    ("ST_GeomFromGeoJSON", 1, _geom_from_geojson),
    ("ST_GeomFromText", 2, _geom_from_text),
    ("ST_Intersects", 2, _predicate("intersects")),
    ("ST_Within", 2, _predicate("within")),
    ("ST_Equals", 2, _predicate("equals")),
    ("ST_Disjoint", 2, _predicate("disjoint")),
    ("ST_Touches", 2, _predicate("touches")),
    ("ST_Overlaps", 2, _predicate("overlaps")),
    ("ST_Crosses", 2, _predicate("crosses")),
    ("ST_Contains", 2, _predicate("contains")),
    ("ST_Distance", 2, _distance),
    ("ST_Length", 1, _length),
)


@event.listens_for(Engine, "connect")
def _register_sqlite_functions(dbapi_connection: Any, _record: Any) -> None:
    """Give every new SQLite connection the spatial functions (PostgreSQL has PostGIS)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        for name, arity, function in _SQLITE_FUNCTIONS:
            dbapi_connection.create_function(name, arity, function, deterministic=True)


# --- expressions ------------------------------------------------------------------------------

_postgis: dict[str, bool] = {}


def require_spatial(session: Session) -> None:
    """Refuse (501) a geo filter on a PostgreSQL without PostGIS; the answer is cached per
    database, since installing the extension needs a restart of the platform anyway."""
    if not is_postgresql(session):
        return
    database = str(session.get_bind().engine.url)
    if database not in _postgis:
        found = session.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'"))
        _postgis[database] = bool(found)
    if not _postgis[database]:
        raise GeoUnavailable(
            "geo functions need the PostGIS extension on this PostgreSQL database "
            "(CREATE EXTENSION postgis)"
        )


def geometry_of_column(column: ColumnElement[Any], *, postgresql: bool) -> ColumnElement[Any]:
    """The geometry in a GeoJSON column that holds a geometry or a Feature."""
    if postgresql:
        inner = func.coalesce(column.op("->")(literal_column("'geometry'")), column)
        return func.ST_GeomFromGeoJSON(cast(inner, Text))
    return func.ST_GeomFromGeoJSON(column)


def geometry_of_wkt(wkt: str) -> ColumnElement[Any]:
    """The geometry of a WKT literal such as ``POINT(114.1 22.5)``."""
    return func.ST_GeomFromText(literal(wkt, Text), SRID)
