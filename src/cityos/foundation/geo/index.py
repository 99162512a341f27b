"""Spatial index and spatial queries: point → region chain, nearest-k and within on layers,
reverse geocoding.

**Regions** are few (about 1,100 in Luohu) and read all the time, so each process keeps a
``RegionIndex`` in memory: the regions' shapely geometries in one STRtree per level. It is
rebuilt when the regions change, which ``region_index`` notices from ``count(*)`` and
``max(updated_at)`` of the region table (one cheap query per call). ``locate_many`` asks
the grid STRtree about whole slices of points (``STRtree.query(points,
predicate="intersects")``, shapely 2's vectorised C loop): about a million points a second
on one core (``bench/geo.py``), five times the target, and exact, so a raster lookup with
an exact fallback near edges was not worth its code. The query holds the GIL, so more
cores help only as more processes.

**Boundary rule.** Regions are closed polygons, so a point on a boundary shared by several
grids lies in each of them. It belongs to the one with the smallest code: deterministic,
the same for ``locate`` and ``locate_many``, and consistent up the tree, since a grid's
code starts with its community's and subdistrict's. A point on the district's own outer
boundary is inside.

**Layers and addresses** can be large (the target is a million features), so they stay in
the database and each database uses its own index for candidates:

- PostgreSQL with PostGIS: the ``geom`` column's GiST index; nearest by KNN
  (``ORDER BY geom <-> point LIMIT k``), within by ``ST_Intersects``/``ST_Within``;
- SQLite: the R*Tree tables, searched in boxes that grow until they hold k candidates;
- PostgreSQL without PostGIS: the bbox columns.

Candidates are then ranked by exact geodesic distance (WGS84 ellipsoid) computed here, in
the same code for every database, with ties broken by feature key, so both databases give
the same answer. Nearest takes two rounds: the first finds k candidates, whose k-th
distance bounds the answer; the second takes everything within that distance.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Generic, Literal, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt
import shapely
import shapely.ops
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, column, func, select, table, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from cityos.foundation.geo import crs
from cityos.foundation.geo.models import LEVELS, Feature, Level, Region, StandardAddress

Bbox = tuple[float, float, float, float]
"""min_lon, min_lat, max_lon, max_lat in WGS84 degrees."""
Backend = Literal["postgis", "rtree", "bbox"]
Area: TypeAlias = "Bbox | Mapping[str, Any] | BaseGeometry"
IntArray = npt.NDArray[np.int64]

_NO_MATCH: Final = np.iinfo(np.int64).max
LOCATE_SLICE: Final = 16_384  # points per STRtree query in ``locate_many``
_SEED_RADIUS_M: Final = 200.0
_HALF_EARTH_M: Final = 20_040_000.0
# Per degree, at least this many metres: latitude 110,574 m; longitude 111,320 m·cos(lat).
_M_PER_DEG_LAT: Final = 110_000.0
_M_PER_DEG_LON_AT_EQUATOR: Final = 111_000.0


# --- region chains ----------------------------------------------------------------------


@dataclass(frozen=True)
class RegionRef:
    """A region as answers name it."""

    code: str
    level: Level
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class RegionChain:
    """The regions a point lies in, district down to grid (lower levels ``None`` in a gap)."""

    district: RegionRef
    subdistrict: RegionRef | None = None
    community: RegionRef | None = None
    grid: RegionRef | None = None

    def levels(self) -> list[RegionRef]:
        """The known levels, district first."""
        found = (self.district, self.subdistrict, self.community, self.grid)
        return [ref for ref in found if ref is not None]

    @property
    def deepest(self) -> RegionRef:
        return self.levels()[-1]


@dataclass
class _Level:
    codes: list[str]
    geometries: npt.NDArray[Any]
    tree: shapely.STRtree


@dataclass
class RegionIndex:
    """The regions of one database at one version, for point lookups in memory."""

    version: tuple[Any, ...]
    refs: dict[str, RegionRef]
    parents: dict[str, str | None]
    levels: dict[Level, _Level] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        rows: Sequence[tuple[str, str, str | None, str, str, dict[str, Any]]],
        version: tuple[Any, ...],
    ) -> RegionIndex:
        """An index of ``(code, level, parent_code, name_zh, name_en, geometry)`` rows."""
        index = cls(version=version, refs={}, parents={})
        by_level: dict[Level, list[tuple[str, BaseGeometry]]] = {level: [] for level in LEVELS}
        for code, level, parent, name_zh, name_en, geometry in sorted(rows):
            level_name: Level = level  # type: ignore[assignment]
            index.refs[code] = RegionRef(code, level_name, name_zh, name_en)
            index.parents[code] = parent
            by_level[level_name].append((code, shape(geometry)))
        for level, members in by_level.items():
            geometries = np.array([g for _, g in members], dtype=object)
            shapely.prepare(geometries)
            index.levels[level] = _Level(
                [c for c, _ in members], geometries, shapely.STRtree(geometries)
            )
        return index

    @property
    def grid_codes(self) -> list[str]:
        """The grid codes in ascending order: ``locate_many`` answers indexes into this list."""
        return self.levels["grid"].codes

    def codes(self, level: Level) -> list[str]:
        """The codes of one level in ascending order: ``locate_many`` indexes into this list."""
        return self.levels[level].codes

    def locate_many(
        self, lons: npt.ArrayLike, lats: npt.ArrayLike, *, level: Level = "grid"
    ) -> IntArray:
        """For each point, the index of its region of ``level`` in ``codes(level)``, or -1
        outside every region of that level."""
        lon_array = np.asarray(lons, dtype=np.float64).ravel()
        lat_array = np.asarray(lats, dtype=np.float64).ravel()
        if lon_array.shape != lat_array.shape:
            raise ValueError("lons and lats must have the same length")
        return self._query(level, lon_array, lat_array)

    def locate(self, lon: float, lat: float) -> RegionChain | None:
        """The region chain of a point; ``None`` when it is outside the district."""
        for level in reversed(LEVELS):
            found = int(self._query(level, np.array([lon]), np.array([lat]))[0])
            if found >= 0:
                return self.chain(self.levels[level].codes[found])
        return None

    def chain(self, code: str) -> RegionChain:
        """The chain from the district down to the region ``code``."""
        found: dict[str, RegionRef] = {}
        current: str | None = code
        while current is not None:
            ref = self.refs[current]
            found[ref.level] = ref
            current = self.parents.get(current)
        return RegionChain(
            district=found["district"],
            subdistrict=found.get("subdistrict"),
            community=found.get("community"),
            grid=found.get("grid"),
        )

    def _query(
        self, level: Level, lons: npt.NDArray[np.float64], lats: npt.NDArray[np.float64]
    ) -> IntArray:
        members = self.levels[level]
        result = np.full(lons.shape, -1, dtype=np.int64)
        if not members.codes:
            return result
        # In slices: a million point objects at once cost more in garbage collection than
        # the lookup itself, and the memory stays bounded.
        for start in range(0, lons.size, LOCATE_SLICE):
            stop = start + LOCATE_SLICE
            points = shapely.points(lons[start:stop], lats[start:stop])
            which, hit = members.tree.query(points, predicate="intersects")
            # Boundary rule: of several regions holding a point, the smallest code wins.
            best = np.full(points.shape, _NO_MATCH, dtype=np.int64)
            np.minimum.at(best, which, hit)
            best[best == _NO_MATCH] = -1
            result[start:stop] = best
        return result


_indexes: dict[str, RegionIndex] = {}
_indexes_lock = threading.Lock()


def _database_key(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def region_index(session: Session) -> RegionIndex:
    """This process's index of the regions, rebuilt when they have changed."""
    count, latest = session.execute(select(func.count(), func.max(Region.updated_at))).one()
    version: tuple[int, datetime | None] = (int(count), latest)
    key = _database_key(session)
    index = _indexes.get(key)
    if index is not None and index.version == version:
        return index
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None or index.version != version:
            rows = session.execute(
                select(
                    Region.code,
                    Region.level,
                    Region.parent_code,
                    Region.name_zh,
                    Region.name_en,
                    Region.geometry,
                )
            ).all()
            index = RegionIndex.build([tuple(row) for row in rows], version)
            _indexes[key] = index
    return index


def locate(session: Session, *, lon: float, lat: float) -> RegionChain | None:
    """The region chain at a WGS84 point; ``None`` means outside the district."""
    return region_index(session).locate(lon, lat)


def locate_many(
    session: Session, lons: npt.ArrayLike, lats: npt.ArrayLike
) -> tuple[IntArray, list[str]]:
    """Grid indexes for many WGS84 points (-1 outside), and the grid codes they index."""
    index = region_index(session)
    return index.locate_many(lons, lats), index.grid_codes


# --- which index each database has ------------------------------------------------------

_backends: dict[str, Backend] = {}


def spatial_backend(session: Session) -> Backend:
    """The spatial index this database has (its migration decided; checked once per process)."""
    key = _database_key(session)
    backend = _backends.get(key)
    if backend is None:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            found = session.execute(
                text(
                    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                    " AND table_name = 'geo_feature' AND column_name = 'geom'"
                )
            ).first()
            backend = "postgis" if found else "bbox"
        else:
            found = session.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'geo_feature_rtree'")
            ).first()
            backend = "rtree" if found else "bbox"
        _backends[key] = backend
    return backend


@dataclass(frozen=True)
class _Spatial:
    """A table with a spatial index: its key and how its bbox is stored."""

    table: str
    key: InstrumentedAttribute[Any]
    min_lon: InstrumentedAttribute[Any]
    min_lat: InstrumentedAttribute[Any]
    max_lon: InstrumentedAttribute[Any]
    max_lat: InstrumentedAttribute[Any]


_FEATURES: Final = _Spatial(
    "geo_feature", Feature.id, Feature.min_lon, Feature.min_lat, Feature.max_lon, Feature.max_lat
)
_ADDRESSES: Final = _Spatial(
    "standard_address",
    StandardAddress.code,
    StandardAddress.lon,
    StandardAddress.lat,
    StandardAddress.lon,
    StandardAddress.lat,
)

T = TypeVar("T")
Item = TypeVar("Item", Feature, StandardAddress)


def _in_box(session: Session, spatial: _Spatial, stmt: Select[T], box: Bbox) -> Select[T]:
    """``stmt`` narrowed to rows whose bbox meets ``box``, through the database's index."""
    min_lon, min_lat, max_lon, max_lat = box
    backend = spatial_backend(session)
    if backend == "postgis":
        envelope = text(
            f"{spatial.table}.geom && ST_MakeEnvelope(:box_w, :box_s, :box_e, :box_n, 4326)"
        ).bindparams(box_w=min_lon, box_s=min_lat, box_e=max_lon, box_n=max_lat)
        return stmt.where(envelope)
    if backend == "rtree":
        rtree = table(
            f"{spatial.table}_rtree",
            column("id"),
            column("min_lon"),
            column("max_lon"),
            column("min_lat"),
            column("max_lat"),
        )
        keys = table(f"{spatial.table}_rtree_key", column("id"), column("ref"))
        refs = (
            select(keys.c.ref)
            .join(rtree, rtree.c.id == keys.c.id)
            .where(
                rtree.c.max_lon >= min_lon,
                rtree.c.min_lon <= max_lon,
                rtree.c.max_lat >= min_lat,
                rtree.c.min_lat <= max_lat,
            )
        )
        return stmt.where(spatial.key.in_(refs))
    return stmt.where(
        spatial.max_lon >= min_lon,
        spatial.min_lon <= max_lon,
        spatial.max_lat >= min_lat,
        spatial.min_lat <= max_lat,
    )


def box_around(lon: float, lat: float, radius_m: float) -> Bbox:
    """A box sure to hold every point within ``radius_m`` metres (no antimeridian wrap)."""
    d_lat = radius_m / _M_PER_DEG_LAT
    widest = math.cos(math.radians(min(90.0, abs(lat) + d_lat)))
    d_lon = 360.0 if widest < 1e-9 else radius_m / (_M_PER_DEG_LON_AT_EQUATOR * widest)
    return (
        max(-180.0, lon - d_lon),
        max(-90.0, lat - d_lat),
        min(180.0, lon + d_lon),
        min(90.0, lat + d_lat),
    )


# --- exact distances --------------------------------------------------------------------


def distance_to_geometry_m(
    lon: float, lat: float, geometry: Mapping[str, Any] | BaseGeometry
) -> float:
    """Geodesic metres from a point to the nearest point of a geometry (0 inside or on it).

    The nearest point is found in a plane scaled by cos(lat) around the query point (exact
    enough over a city), then measured on the ellipsoid.
    """
    shaped = geometry if isinstance(geometry, BaseGeometry) else shape(geometry)
    if shaped.geom_type == "Point":
        return float(crs.distance_m(lon, lat, shaped.x, shaped.y))
    if shapely.intersects_xy(shaped, lon, lat):
        return 0.0
    scale = math.cos(math.radians(lat))
    flat = shapely.transform(shaped, lambda xy: xy * np.array([scale, 1.0]))
    _, nearest = shapely.ops.nearest_points(shapely.Point(lon * scale, lat), flat)
    return float(crs.distance_m(lon, lat, nearest.x / scale, nearest.y))


def _feature_distances(lon: float, lat: float, features: Sequence[Feature]) -> list[float]:
    points = [i for i, f in enumerate(features) if f.lon is not None and f.lat is not None]
    distances = [0.0] * len(features)
    if points:
        far = crs.distance_m(
            np.full(len(points), lon),
            np.full(len(points), lat),
            np.array([features[i].lon for i in points], dtype=np.float64),
            np.array([features[i].lat for i in points], dtype=np.float64),
        )
        for i, metres in zip(points, far.tolist(), strict=True):
            distances[i] = metres
    point_set = set(points)
    for i, feature in enumerate(features):
        if i not in point_set:
            distances[i] = distance_to_geometry_m(lon, lat, feature.geometry)
    return distances


def _address_distances(lon: float, lat: float, addresses: Sequence[StandardAddress]) -> list[float]:
    if not addresses:
        return []
    far = crs.distance_m(
        np.full(len(addresses), lon),
        np.full(len(addresses), lat),
        np.array([a.lon for a in addresses], dtype=np.float64),
        np.array([a.lat for a in addresses], dtype=np.float64),
    )
    return [float(metres) for metres in far]


# --- nearest and within -----------------------------------------------------------------


@dataclass(frozen=True)
class Near(Generic[Item]):
    """A feature (or address) and its geodesic distance in metres from the query point."""

    item: Item
    distance_m: float


def _nearest(
    session: Session,
    spatial: _Spatial,
    stmt: Select[Item],
    *,
    lon: float,
    lat: float,
    k: int,
    distances: Callable[[float, float, Sequence[Item]], list[float]],
    tie: Callable[[Item], str],
) -> list[Near[Item]]:
    if k <= 0:
        return []
    if spatial_backend(session) == "postgis":
        knn = text(
            f"{spatial.table}.geom <-> ST_SetSRID(ST_MakePoint(:knn_lon, :knn_lat), 4326)"
        ).bindparams(knn_lon=lon, knn_lat=lat)
        seed = list(session.scalars(stmt.order_by(knn).limit(k)))
    else:
        radius = _SEED_RADIUS_M
        while True:
            box = box_around(lon, lat, radius)
            seed = list(session.scalars(_in_box(session, spatial, stmt, box).limit(4 * k)))
            if len(seed) >= k or radius >= _HALF_EARTH_M:
                break
            radius *= 4
    if not seed:
        return []
    # Any k candidates bound the k-th nearest distance; everything nearer lies in this box.
    reach = sorted(distances(lon, lat, seed))[min(k, len(seed)) - 1]
    rows = list(session.scalars(_in_box(session, spatial, stmt, box_around(lon, lat, reach + 1.0))))
    ranked = sorted(
        zip(distances(lon, lat, rows), rows, strict=True), key=lambda pair: (pair[0], tie(pair[1]))
    )
    return [Near(item, metres) for metres, item in ranked[:k]]


def nearest_features(
    session: Session, *, layer_id: str, lon: float, lat: float, k: int = 10
) -> list[Near[Feature]]:
    """The ``k`` features of a layer nearest to a WGS84 point, nearest first, with metres."""
    return _nearest(
        session,
        _FEATURES,
        layer_features(session, layer_id),
        lon=lon,
        lat=lat,
        k=k,
        distances=_feature_distances,
        tie=lambda feature: feature.key,
    )


def nearest_addresses(
    session: Session, *, lon: float, lat: float, k: int = 1
) -> list[Near[StandardAddress]]:
    """The ``k`` standard addresses nearest to a WGS84 point, nearest first, with metres."""
    return _nearest(
        session,
        _ADDRESSES,
        select(StandardAddress),
        lon=lon,
        lat=lat,
        k=k,
        distances=_address_distances,
        tie=lambda address: address.code,
    )


def as_geometry(area: Area) -> BaseGeometry:
    """A shapely geometry for a bbox, a GeoJSON geometry or a shapely geometry."""
    if isinstance(area, BaseGeometry):
        return area
    if isinstance(area, tuple):
        return shapely.box(*area)
    return shape(area)


def layer_features(session: Session, layer_id: str) -> Select[Feature]:
    """The features of one layer, as a statement that spatial filters will narrow.

    With the R*Tree, SQLite (without statistics) would rather walk the whole layer through
    the ``layer_id`` index and test each row against the R*Tree's candidates; comparing
    ``layer_id || ''`` instead, SQLite's idiom for "not through an index", makes it start
    from the candidates.
    """
    if spatial_backend(session) == "rtree":
        return select(Feature).where(Feature.layer_id.concat("") == layer_id)
    return select(Feature).where(Feature.layer_id == layer_id)


def narrow_to_area(
    session: Session,
    stmt: Select[T],
    geometry: BaseGeometry,
    predicate: Literal["intersects", "within"] = "intersects",
) -> tuple[Select[T], bool]:
    """``stmt`` (from ``layer_features``) narrowed to ``geometry`` through the index, and
    whether that is exact already (PostGIS) or still needs ``refine`` (other databases)."""
    stmt = _in_box(session, _FEATURES, stmt, geometry.bounds)
    if spatial_backend(session) != "postgis":
        return stmt, False
    function = "ST_Intersects" if predicate == "intersects" else "ST_Within"
    exact = text(
        f"{function}(geo_feature.geom, ST_SetSRID(ST_GeomFromGeoJSON(:area), 4326))"
    ).bindparams(area=json.dumps(shapely.geometry.mapping(geometry)))
    return stmt.where(exact), True


def refine(
    features: Sequence[Feature],
    geometry: BaseGeometry,
    predicate: Literal["intersects", "within"] = "intersects",
) -> list[Feature]:
    """The features that really intersect (or lie within) ``geometry``, tested by shapely."""
    if not features:
        return []
    shapes = np.array([shape(f.geometry) for f in features], dtype=object)
    test = shapely.intersects if predicate == "intersects" else shapely.within
    keep = test(shapes, geometry)
    return [f for f, ok in zip(features, keep, strict=True) if ok]


def features_within(
    session: Session,
    *,
    layer_id: str,
    area: Area,
    predicate: Literal["intersects", "within"] = "intersects",
) -> list[Feature]:
    """The features of a layer that intersect (or lie within) an area, ordered by key.

    ``area`` is a bbox (min_lon, min_lat, max_lon, max_lat), a GeoJSON geometry or a shapely
    geometry, in WGS84.
    """
    geometry = as_geometry(area)
    stmt, exact = narrow_to_area(session, layer_features(session, layer_id), geometry, predicate)
    found = list(session.scalars(stmt))
    if not exact:
        found = refine(found, geometry, predicate)
    return sorted(found, key=lambda feature: feature.key)


# --- reverse geocoding ------------------------------------------------------------------


@dataclass(frozen=True)
class Reverse:
    """What is at a point: its region chain and the nearest standard address.

    ``chain`` is ``None`` when the point is outside the district (then no address either);
    ``address`` is ``None`` when none lies within the search distance.
    """

    chain: RegionChain | None
    address: StandardAddress | None = None
    distance_m: float | None = None

    @property
    def outside(self) -> bool:
        return self.chain is None


def reverse(session: Session, *, lon: float, lat: float, max_distance_m: float = 500.0) -> Reverse:
    """The region chain at a WGS84 point and the nearest standard address within reach."""
    chain = locate(session, lon=lon, lat=lat)
    if chain is None:
        return Reverse(chain=None)
    near = nearest_addresses(session, lon=lon, lat=lat, k=1)
    if not near or near[0].distance_m > max_distance_m:
        return Reverse(chain=chain)
    return Reverse(chain=chain, address=near[0].item, distance_m=near[0].distance_m)
