"""The ``geo/`` part of a profile: regions, standard addresses and layers (formats in the
profile's ``geo/README.md``).

Three sections, each a schema for its files, a ``check`` for what no single file shows, and
a loader:

- ``geo-regions`` (order 20): the four region files; the check runs the whole topology
  (``topology.check_regions``) and turns each fault into an issue with file, feature and
  position.
- ``geo-addresses`` (order 30): ``addresses.csv``; the check finds duplicate codes, regions
  that do not exist or do not nest, and points outside their grid, each with its line.
- ``geo-layers`` (order 40): ``layers.yaml`` and the FeatureCollections it names; the check
  matches features to their layer's geometry type and typed properties.

Loaders compare with what is stored and write only the difference, in bulk (executemany),
so a first load of Luohu's ~1,100 regions, 20,000 addresses and layers takes seconds and a
repeated one writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from cityos.foundation.geo import crs
from cityos.foundation.geo.models import Feature, Layer, Level, Region, StandardAddress
from cityos.foundation.geo.service import address_search_text
from cityos.foundation.geo.topology import (
    RegionInput,
    TopologyFault,
    check_regions,
    reason_position,
)
from cityos.kernel.clock import utcnow
from cityos.kernel.i18n import LocalizedText
from cityos.kernel.ids import new_id
from cityos.kernel.profiles import ProfileIssue, ValidatedFile
from cityos.kernel.registry import ProfileSection

if TYPE_CHECKING:
    from cityos.kernel.profiles import ProfileContext, ProfileDocuments

Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Position = tuple[Lon, Lat]
# An address point may sit this far (in degrees, about 1 m) outside the grid it names.
_ADDRESS_SLACK_DEG: Final = 1e-5
_BATCH: Final = 5000

REGION_FILES: Final[Mapping[str, Level]] = {
    "geo/district.geojson": "district",
    "geo/subdistricts.geojson": "subdistrict",
    "geo/communities.geojson": "community",
    "geo/grids.geojson": "grid",
}
LEVEL_OF_DIGITS: Final[Mapping[int, Level]] = {
    6: "district",
    9: "subdistrict",
    12: "community",
    15: "grid",
}


# --- GeoJSON shapes ---------------------------------------------------------------------


class _Geometry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def geojson(self) -> dict[str, Any]:
        """As a plain GeoJSON dict, positions as lists (as JSON columns give them back)."""
        fields = self.__dict__
        return {"type": fields["type"], "coordinates": _lists(fields["coordinates"])}


class PointGeometry(_Geometry):
    type: Literal["Point"]
    coordinates: Position


class MultiPointGeometry(_Geometry):
    type: Literal["MultiPoint"]
    coordinates: list[Position] = Field(min_length=1)


class LineStringGeometry(_Geometry):
    type: Literal["LineString"]
    coordinates: list[Position] = Field(min_length=2)


class MultiLineStringGeometry(_Geometry):
    type: Literal["MultiLineString"]
    coordinates: list[Annotated[list[Position], Field(min_length=2)]] = Field(min_length=1)


class PolygonGeometry(_Geometry):
    """Rings are checked for closure and length by the topology check, which names where."""

    type: Literal["Polygon"]
    coordinates: list[list[Position]] = Field(min_length=1)


class MultiPolygonGeometry(_Geometry):
    type: Literal["MultiPolygon"]
    coordinates: list[Annotated[list[list[Position]], Field(min_length=1)]] = Field(min_length=1)


RegionGeometry = Annotated[PolygonGeometry | MultiPolygonGeometry, Field(discriminator="type")]
AnyGeometry = Annotated[
    PointGeometry
    | MultiPointGeometry
    | LineStringGeometry
    | MultiLineStringGeometry
    | PolygonGeometry
    | MultiPolygonGeometry,
    Field(discriminator="type"),
]


def _lists(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    return value


# --- geo-regions ------------------------------------------------------------------------


class RegionProperties(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\d{6}(\d{3}){0,3}$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=200)
    parent: str | None
    synthetic: bool = False


class RegionFeature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"]
    id: str | int | None = None
    bbox: list[float] | None = None
    geometry: RegionGeometry
    properties: RegionProperties


class RegionCollection(BaseModel):
    """A region file: a FeatureCollection of one level, with ``name`` and ``synthetic``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["FeatureCollection"]
    name: str = ""
    synthetic: bool = False
    bbox: list[float] | None = None
    features: list[RegionFeature]


def _region_inputs(files: Iterable[tuple[str, RegionCollection]]) -> list[RegionInput]:
    inputs = []
    for relative, collection in files:
        level = REGION_FILES[relative]
        for index, feature in enumerate(collection.features):
            geometry = {"type": feature.geometry.type, "coordinates": feature.geometry.coordinates}
            props = feature.properties
            inputs.append(RegionInput(relative, index, level, props.code, props.parent, geometry))
    return inputs


def _issue(fault: TopologyFault) -> ProfileIssue:
    where = f"features.{fault.feature_index}" if fault.feature_index is not None else ""
    message = f"{fault.code}: {fault.message}" if fault.code else fault.message
    return ProfileIssue(fault.file, None, where, f"[{fault.kind}] {message}", fault.position)


def _check_regions(documents: ProfileDocuments) -> list[ProfileIssue]:
    files = [(f.relative, f.document) for f in documents.files]
    collections = [(relative, doc) for relative, doc in files if isinstance(doc, RegionCollection)]
    report = check_regions(_region_inputs(collections))
    return [_issue(fault) for fault in report.faults]


def _region_row(feature: RegionFeature) -> dict[str, Any]:
    props = feature.properties
    geometry = feature.geometry.geojson()
    polygon = shape(geometry)
    min_lon, min_lat, max_lon, max_lat = polygon.bounds
    centroid = polygon.centroid
    return {
        "code": props.code,
        "level": LEVEL_OF_DIGITS[len(props.code)],
        "parent_code": props.parent,
        "name_zh": props.name_zh,
        "name_en": props.name_en,
        "synthetic": props.synthetic,
        "geometry": geometry,
        "min_lon": min_lon,
        "min_lat": min_lat,
        "max_lon": max_lon,
        "max_lat": max_lat,
        "area_m2": crs.area_m2(polygon),
        "centroid_lon": round(centroid.x, 7),
        "centroid_lat": round(centroid.y, 7),
    }


_REGION_SOURCE_FIELDS: Final = (
    "level",
    "parent_code",
    "name_zh",
    "name_en",
    "synthetic",
    "geometry",
)


def _load_regions(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    features = [f for doc in documents if isinstance(doc, RegionCollection) for f in doc.features]
    # Parents before children, so each insert finds its parent row.
    features.sort(key=lambda f: len(f.properties.code))
    columns = [getattr(Region, name) for name in _REGION_SOURCE_FIELDS]
    stored = {row[0]: tuple(row[1:]) for row in session.execute(select(Region.code, *columns))}
    now = utcnow()
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for feature in features:
        props = feature.properties
        source = (
            LEVEL_OF_DIGITS[len(props.code)],
            props.parent,
            props.name_zh,
            props.name_en,
            props.synthetic,
            feature.geometry.geojson(),
        )
        known = stored.pop(props.code, None)
        if known == source:
            continue
        row = _region_row(feature) | {"updated_at": now}
        (added if known is None else changed).append(row)
    for level_digits in (6, 9, 12, 15):
        batch = [row | {"created_at": now} for row in added if len(row["code"]) == level_digits]
        _insert(session, Region, batch)
    _update(session, Region, changed)
    _delete_regions(session, sorted(stored, key=len, reverse=True))
    _count(context, "regions", len(added) + len(changed) + len(stored))


def _delete_regions(session: Session, codes: Sequence[str]) -> None:
    """Remove regions the profile no longer has, children first, with their addresses."""
    if not codes:
        return
    for chunk in _chunks(codes):
        session.execute(
            delete(StandardAddress).where(
                StandardAddress.grid_code.in_(chunk)
                | StandardAddress.community_code.in_(chunk)
                | StandardAddress.subdistrict_code.in_(chunk)
            )
        )
    for code in codes:
        session.execute(delete(Region).where(Region.code == code))


# --- geo-addresses ----------------------------------------------------------------------


class AddressRow(BaseModel):
    """One line of ``addresses.csv``."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\d{19}$")
    road: str = Field(min_length=1, max_length=100)
    number: str = Field(pattern=r"^\d{1,20}$")
    building: str = Field(default="", max_length=100)
    unit: str = Field(default="", max_length=50)
    subdistrict: str = Field(pattern=r"^\d{9}$")
    community: str = Field(pattern=r"^\d{12}$")
    grid: str = Field(pattern=r"^\d{15}$")
    lon: Lon
    lat: Lat
    synthetic: bool = False


class AddressesFile(RootModel[list[AddressRow]]):
    """``addresses.csv``: one standard address per row."""


def _check_addresses(documents: ProfileDocuments) -> list[ProfileIssue]:
    regions = documents.earlier.get("geo-regions")
    parents: dict[str, str | None] = {}
    grids: dict[str, BaseGeometry] = {}
    for file in regions or []:
        assert isinstance(file.document, RegionCollection)
        for feature in file.document.features:
            parents[feature.properties.code] = feature.properties.parent
            if len(feature.properties.code) == 15:
                grids[feature.properties.code] = shape(feature.geometry.geojson())
    issues: list[ProfileIssue] = []
    for file in documents.files:
        assert isinstance(file.document, AddressesFile)
        issues.extend(_address_faults(file, file.document.root, parents if regions else None))
        issues.extend(_addresses_outside(file, file.document.root, grids))
    return issues


def _address_issue(
    file: ValidatedFile, index: int, message: str, at: tuple[float, float] | None = None
) -> ProfileIssue:
    return ProfileIssue(file.relative, file.line_of((index,)), str(index), message, at)


def _address_faults(
    file: ValidatedFile, rows: list[AddressRow], parents: Mapping[str, str | None] | None
) -> list[ProfileIssue]:
    """Duplicate codes, and region codes that do not nest or (when known) do not exist."""
    issues: list[ProfileIssue] = []
    first: dict[str, int] = {}
    for index, row in enumerate(rows):
        if row.code in first:
            line = file.line_of((first[row.code],))
            issues.append(_address_issue(file, index, f"code {row.code} is also on line {line}"))
        else:
            first[row.code] = index
        nested = (
            row.code.startswith(row.grid)
            and row.grid.startswith(row.community)
            and row.community.startswith(row.subdistrict)
        )
        if not nested:
            message = "code, grid, community and subdistrict do not nest"
            issues.append(_address_issue(file, index, message))
        elif parents is not None and (
            parents.get(row.grid, "") != row.community
            or parents.get(row.community, "") != row.subdistrict
        ):
            message = f"grid {row.grid} is not a known grid of community {row.community}"
            issues.append(_address_issue(file, index, message))
    return issues


def _addresses_outside(
    file: ValidatedFile, rows: list[AddressRow], grids: Mapping[str, BaseGeometry]
) -> list[ProfileIssue]:
    """Points farther than about 1 m outside the grid they name."""
    placed = [i for i, row in enumerate(rows) if row.grid in grids]
    if not placed:
        return []
    polygons = np.array([grids[rows[i].grid] for i in placed], dtype=object)
    lons = np.array([rows[i].lon for i in placed], dtype=np.float64)
    lats = np.array([rows[i].lat for i in placed], dtype=np.float64)
    unsure = np.flatnonzero(~shapely.contains_xy(polygons, lons, lats))
    points = shapely.points(lons[unsure], lats[unsure])
    near = shapely.dwithin(polygons[unsure], points, _ADDRESS_SLACK_DEG)
    issues = []
    for j in unsure[~near]:
        row = rows[placed[j]]
        message = f"the point lies outside its grid {row.grid}"
        issues.append(_address_issue(file, placed[j], message, (row.lon, row.lat)))
    return issues


_ADDRESS_FIELDS: Final = (
    "road",
    "number",
    "building",
    "unit",
    "subdistrict_code",
    "community_code",
    "grid_code",
    "lon",
    "lat",
    "synthetic",
)


def _load_addresses(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    rows = [row for doc in documents if isinstance(doc, AddressesFile) for row in doc.root]
    columns = [getattr(StandardAddress, name) for name in _ADDRESS_FIELDS]
    stored = {
        row[0]: tuple(row[1:]) for row in session.execute(select(StandardAddress.code, *columns))
    }
    now = utcnow()
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in rows:
        source = (
            row.road,
            row.number,
            row.building,
            row.unit,
            row.subdistrict,
            row.community,
            row.grid,
            row.lon,
            row.lat,
            row.synthetic,
        )
        known = stored.pop(row.code, None)
        if known == source:
            continue
        values = dict(zip(_ADDRESS_FIELDS, source, strict=True)) | {
            "code": row.code,
            "search_text": address_search_text(row.road, row.number, row.building, row.unit),
            "updated_at": now,
        }
        if known is None:
            added.append(values | {"created_at": now})
        else:
            changed.append(values)
    _insert(session, StandardAddress, added)
    _update(session, StandardAddress, changed)
    for chunk in _chunks(sorted(stored)):
        session.execute(delete(StandardAddress).where(StandardAddress.code.in_(chunk)))
    _count(context, "addresses", len(added) + len(changed) + len(stored))


# --- geo-layers -------------------------------------------------------------------------

PropertyType = Literal["string", "integer", "number", "boolean"]
_PYTHON_TYPES: Final[Mapping[PropertyType, Callable[[Any], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


class PropertySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: PropertyType
    required: bool = False
    title: LocalizedText


class LayerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,63}$")
    title: LocalizedText
    geometry: Literal["Point", "LineString", "Polygon"]
    file: str = Field(pattern=r"^[\w./-]+\.geojson$")
    synthetic: bool = False
    properties: dict[str, PropertySpec] = Field(default_factory=dict)


class LayerFeature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"]
    id: str | int | None = None
    bbox: list[float] | None = None
    geometry: AnyGeometry
    properties: dict[str, Any] | None = None


class LayersDocument(BaseModel):
    """A file of the layers section: either ``layers.yaml`` (a ``layers`` list) or one
    layer's FeatureCollection. One schema for both, since a section has one."""

    model_config = ConfigDict(extra="forbid")

    layers: list[LayerEntry] | None = None
    type: Literal["FeatureCollection"] | None = None
    name: str | None = None
    synthetic: bool | None = None
    bbox: list[float] | None = None
    features: list[LayerFeature] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> LayersDocument:
        is_list = self.layers is not None
        is_collection = self.type is not None or self.features is not None
        if is_list == is_collection:
            raise ValueError("expected either a `layers` list (layers.yaml) or a FeatureCollection")
        if is_collection and (self.type is None or self.features is None):
            raise ValueError("a FeatureCollection needs `type` and `features`")
        return self


def layer_path(file: str) -> str:
    """The profile-relative path of a layer file named in ``layers.yaml``."""
    return str(PurePosixPath("geo/layers") / PurePosixPath(file).name)


def _check_layers(documents: ProfileDocuments) -> list[ProfileIssue]:
    listings: list[tuple[ValidatedFile, list[LayerEntry]]] = []
    collections: dict[str, LayersDocument] = {}
    for file in documents.files:
        document = file.document
        assert isinstance(document, LayersDocument)
        if document.layers is not None:
            listings.append((file, document.layers))
        else:
            collections[file.relative] = document
    if len(listings) != 1:
        message = "exactly one layers.yaml must list the layers"
        return [ProfileIssue("geo/layers.yaml", None, "", message)]
    listing, entries = listings[0]
    issues: list[ProfileIssue] = []
    for layer_id, count in Counter(entry.id for entry in entries).items():
        if count > 1:
            message = f"layer id {layer_id!r} is used {count} times"
            issues.append(ProfileIssue(listing.relative, None, "layers", message))
    named: set[str] = set()
    for index, entry in enumerate(entries):
        path = layer_path(entry.file)
        named.add(path)
        collection = collections.get(path)
        if collection is None:
            line = listing.line_of(("layers", index, "file"))
            message = f"layer {entry.id}: file {path} is missing"
            issues.append(ProfileIssue(listing.relative, line, f"layers.{index}.file", message))
            continue
        issues.extend(_check_layer_features(entry, path, collection))
    for path in sorted(set(collections) - named):
        issues.append(ProfileIssue(path, None, "", "not named by any layer in layers.yaml"))
    return issues


def _check_layer_features(
    entry: LayerEntry, relative: str, document: LayersDocument
) -> list[ProfileIssue]:
    issues: list[ProfileIssue] = []
    allowed = {entry.geometry, f"Multi{entry.geometry}"}
    keys: set[str] = set()
    for index, feature in enumerate(document.features or []):
        faults: list[tuple[str, tuple[float, float] | None]] = []
        key = feature_key(feature, index)
        if key in keys:
            faults.append((f"feature id {key!r} is used twice", None))
        keys.add(key)
        if feature.geometry.type not in allowed:
            kind = feature.geometry.type
            faults.append((f"geometry is a {kind}; layer {entry.id} holds {entry.geometry}s", None))
        properties = feature.properties or {}
        for name, spec in entry.properties.items():
            value = properties.get(name)
            if value is None:
                if spec.required:
                    faults.append((f"property {name!r} is required", None))
            elif not _PYTHON_TYPES[spec.type](value):
                faults.append((f"property {name!r} must be a {spec.type}, not {value!r}", None))
        for name in sorted(set(properties) - set(entry.properties)):
            faults.append((f"property {name!r} is not declared for layer {entry.id}", None))
        if entry.geometry != "Point":
            geometry = shape(feature.geometry.geojson())
            if not geometry.is_valid:
                reason = str(shapely.is_valid_reason(geometry))
                faults.append((f"invalid geometry: {reason}", reason_position(reason)))
        issues.extend(
            ProfileIssue(relative, None, f"features.{index}", message, at) for message, at in faults
        )
    return issues


def feature_key(feature: LayerFeature, index: int) -> str:
    """What identifies a feature across loads: its GeoJSON ``id``, else its place in the file."""
    return str(feature.id) if feature.id is not None else f"#{index}"


def _feature_row(layer_id: str, key: str, feature: LayerFeature) -> dict[str, Any]:
    geometry = feature.geometry.geojson()
    min_lon, min_lat, max_lon, max_lat = shape(geometry).bounds
    point = geometry["coordinates"] if geometry["type"] == "Point" else (None, None)
    return {
        "layer_id": layer_id,
        "key": key,
        "properties": dict(feature.properties or {}),
        "geometry": geometry,
        "min_lon": min_lon,
        "min_lat": min_lat,
        "max_lon": max_lon,
        "max_lat": max_lat,
        "lon": point[0],
        "lat": point[1],
    }


def _load_layers(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    by_file: dict[str, LayersDocument] = dict(zip(context.files, documents, strict=True))
    entries = next(doc.layers for doc in by_file.values() if doc.layers is not None)
    stored_layers = {layer.id: layer for layer in session.scalars(select(Layer))}
    now = utcnow()
    for sort, entry in enumerate(entries):
        path = layer_path(entry.file)
        values: dict[str, Any] = {
            "title_zh": entry.title.zh,
            "title_en": entry.title.en,
            "geometry_type": entry.geometry,
            "properties": {name: spec.model_dump() for name, spec in entry.properties.items()},
            "synthetic": entry.synthetic,
            "source": path,
            "sort": sort,
        }
        layer = stored_layers.pop(entry.id, None)
        if layer is None:
            session.add(Layer(id=entry.id, **values))
            session.flush()
            context.count("layers")
        elif any(getattr(layer, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(layer, key, value)
            context.count("layers")
        _load_features(session, context, entry.id, by_file[path], now)
    for layer_id in stored_layers:
        session.execute(delete(Feature).where(Feature.layer_id == layer_id))
        session.execute(delete(Layer).where(Layer.id == layer_id))
        context.count("layers")


def _load_features(
    session: Session,
    context: ProfileContext,
    layer_id: str,
    document: LayersDocument,
    now: datetime,
) -> None:
    stored = {
        key: (feature_id, properties, geometry)
        for key, feature_id, properties, geometry in session.execute(
            select(Feature.key, Feature.id, Feature.properties, Feature.geometry).where(
                Feature.layer_id == layer_id
            )
        )
    }
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for index, feature in enumerate(document.features or []):
        key = feature_key(feature, index)
        row = _feature_row(layer_id, key, feature) | {"updated_at": now}
        known = stored.pop(key, None)
        if known is None:
            added.append(row | {"id": new_id(), "created_at": now})
        elif (known[1], known[2]) != (row["properties"], row["geometry"]):
            changed.append(row | {"id": known[0]})
    _insert(session, Feature, added)
    _update(session, Feature, changed)
    gone = [feature_id for feature_id, _, _ in stored.values()]
    for chunk in _chunks(gone):
        session.execute(delete(Feature).where(Feature.id.in_(chunk)))
    _count(context, "features", len(added) + len(changed) + len(gone))


# --- bulk writes ------------------------------------------------------------------------


def _count(context: ProfileContext, key: str, n: int) -> None:
    """Count rows written; a load that wrote nothing leaves no key in the summary."""
    if n:
        context.count(key, n)


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows, _BATCH):
        session.execute(insert(model), list(chunk))


def _update(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows, _BATCH):
        session.execute(update(model), list(chunk))


regions_section = ProfileSection(
    name="geo-regions",
    files=tuple(REGION_FILES),
    schema=RegionCollection,
    load=_load_regions,
    order=20,
    check=_check_regions,
)
addresses_section = ProfileSection(
    name="geo-addresses",
    files=("geo/addresses.csv",),
    schema=AddressesFile,
    load=_load_addresses,
    order=30,
    check=_check_addresses,
)
layers_section = ProfileSection(
    name="geo-layers",
    files=("geo/layers.yaml", "geo/layers/*.geojson"),
    schema=LayersDocument,
    load=_load_layers,
    order=40,
    check=_check_layers,
)
