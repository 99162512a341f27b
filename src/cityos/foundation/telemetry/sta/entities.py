"""What each SensorThings entity set is: its table, its properties (the standard's names
mapped to columns, with a kind that says how to read, write and filter them) and its
navigation properties (how two sets are linked), and how one row is written out as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from shapely.geometry import shape

from cityos.foundation.telemetry.models import (
    Datastream,
    FeatureOfInterest,
    HistoricalLocation,
    HistoricalLocationLocation,
    Location,
    MultiDatastream,
    MultiDatastreamProperty,
    Observation,
    ObservedProperty,
    Sensor,
    Thing,
    ThingLocation,
)
from cityos.kernel.db import Base
from cityos.kernel.errors import NotFound, ValidationFailed

# text: a string column; json: any JSON value; geojson: a GeoJSON geometry or feature
# (what the geo functions work on); time: one instant; interval: an instant or
# "start/end" over two columns; result: an Observation's result (number or JSON).
PropKind = Literal["text", "json", "geojson", "time", "interval", "result"]


@dataclass(frozen=True)
class Prop:
    """One property: the columns behind it and whether a new entity must give it."""

    kind: PropKind
    columns: tuple[str, ...]
    required: bool = False
    default: Any = None


@dataclass(frozen=True)
class Nav:
    """A navigation property. ``one``: this row's ``key`` column holds the target's id;
    ``many``: the target's ``key`` column holds this row's id; ``link``: rows of
    ``through`` pair this row (``key``) with targets (``other``)."""

    target: str
    kind: Literal["one", "many", "link"]
    key: str
    through: type[Base] | None = None
    other: str = ""
    required: bool = False


@dataclass(frozen=True)
class EntitySet:
    name: str
    singular: str
    model: type[Base]
    props: dict[str, Prop]
    navs: dict[str, Nav] = field(default_factory=dict)


def _named(column_names: dict[str, str], required: tuple[str, ...]) -> dict[str, Prop]:
    """Text properties ``name`` → column, with ``description`` optional (defaults to "")."""
    props = {
        name: Prop("text", (column,), required=name in required)
        for name, column in column_names.items()
    }
    if "description" in props:
        props["description"] = Prop("text", ("description",), default="")
    return props


def _json(column: str, required: bool = False) -> Prop:
    return Prop("json", (column,), required=required)


SETS: dict[str, EntitySet] = {
    "Things": EntitySet(
        "Things",
        "Thing",
        Thing,
        {
            **_named({"name": "name", "description": "description"}, ("name",)),
            "properties": _json("properties"),
        },
        {
            "Locations": Nav("Locations", "link", "thing_id", ThingLocation, "location_id"),
            "HistoricalLocations": Nav("HistoricalLocations", "many", "thing_id"),
            "Datastreams": Nav("Datastreams", "many", "thing_id"),
            "MultiDatastreams": Nav("MultiDatastreams", "many", "thing_id"),
        },
    ),
    "Locations": EntitySet(
        "Locations",
        "Location",
        Location,
        {
            **_named({"name": "name", "description": "description"}, ("name",)),
            "encodingType": Prop("text", ("encoding_type",), default="application/geo+json"),
            "location": Prop("geojson", ("location",), required=True),
            "properties": _json("properties"),
        },
        {
            "Things": Nav("Things", "link", "location_id", ThingLocation, "thing_id"),
            "HistoricalLocations": Nav(
                "HistoricalLocations",
                "link",
                "location_id",
                HistoricalLocationLocation,
                "historical_location_id",
            ),
        },
    ),
    "HistoricalLocations": EntitySet(
        "HistoricalLocations",
        "HistoricalLocation",
        HistoricalLocation,
        {"time": Prop("time", ("time",))},
        {
            "Thing": Nav("Things", "one", "thing_id", required=True),
            "Locations": Nav(
                "Locations",
                "link",
                "historical_location_id",
                HistoricalLocationLocation,
                "location_id",
            ),
        },
    ),
    "Datastreams": EntitySet(
        "Datastreams",
        "Datastream",
        Datastream,
        {
            **_named({"name": "name", "description": "description"}, ("name",)),
            "observationType": Prop("text", ("observation_type",), required=True),
            "unitOfMeasurement": _json("unit_of_measurement", required=True),
            "observedArea": Prop("geojson", ("observed_area",)),
            "phenomenonTime": Prop("interval", ("phenomenon_time_start", "phenomenon_time_end")),
            "resultTime": Prop("interval", ("result_time_start", "result_time_end")),
            "properties": _json("properties"),
        },
        {
            "Thing": Nav("Things", "one", "thing_id", required=True),
            "Sensor": Nav("Sensors", "one", "sensor_id", required=True),
            "ObservedProperty": Nav(
                "ObservedProperties", "one", "observed_property_id", required=True
            ),
            "Observations": Nav("Observations", "many", "datastream_id"),
        },
    ),
    "MultiDatastreams": EntitySet(
        "MultiDatastreams",
        "MultiDatastream",
        MultiDatastream,
        {
            **_named({"name": "name", "description": "description"}, ("name",)),
            "observationType": Prop(
                "text",
                ("observation_type",),
                default="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation",
            ),
            "multiObservationDataTypes": _json("multi_observation_data_types", required=True),
            "unitOfMeasurements": _json("unit_of_measurements", required=True),
            "observedArea": Prop("geojson", ("observed_area",)),
            "phenomenonTime": Prop("interval", ("phenomenon_time_start", "phenomenon_time_end")),
            "resultTime": Prop("interval", ("result_time_start", "result_time_end")),
            "properties": _json("properties"),
        },
        {
            "Thing": Nav("Things", "one", "thing_id", required=True),
            "Sensor": Nav("Sensors", "one", "sensor_id", required=True),
            "ObservedProperties": Nav(
                "ObservedProperties",
                "link",
                "multi_datastream_id",
                MultiDatastreamProperty,
                "observed_property_id",
                required=True,
            ),
            "Observations": Nav("Observations", "many", "multi_datastream_id"),
        },
    ),
    "Sensors": EntitySet(
        "Sensors",
        "Sensor",
        Sensor,
        {
            **_named({"name": "name", "description": "description"}, ("name",)),
            "encodingType": Prop("text", ("encoding_type",), required=True),
            "metadata": Prop("json", ("sensor_metadata",), required=True),
            "properties": _json("properties"),
        },
        {
            "Datastreams": Nav("Datastreams", "many", "sensor_id"),
            "MultiDatastreams": Nav("MultiDatastreams", "many", "sensor_id"),
        },
    ),
    "ObservedProperties": EntitySet(
        "ObservedProperties",
        "ObservedProperty",
        ObservedProperty,
        {
            **_named(
                {"name": "name", "definition": "definition", "description": "description"},
                ("name", "definition"),
            ),
            "properties": _json("properties"),
        },
        {
            "Datastreams": Nav("Datastreams", "many", "observed_property_id"),
            "MultiDatastreams": Nav(
                "MultiDatastreams",
                "link",
                "observed_property_id",
                MultiDatastreamProperty,
                "multi_datastream_id",
            ),
        },
    ),
    "Observations": EntitySet(
        "Observations",
        "Observation",
        Observation,
        {
            "phenomenonTime": Prop("interval", ("phenomenon_time", "phenomenon_time_end")),
            "resultTime": Prop("time", ("result_time",)),
            "result": Prop("result", ("result_number", "result_json"), required=True),
            "resultQuality": _json("result_quality"),
            "validTime": Prop("interval", ("valid_time_start", "valid_time_end")),
            "parameters": _json("parameters"),
        },
        {
            "Datastream": Nav("Datastreams", "one", "datastream_id"),
            "MultiDatastream": Nav("MultiDatastreams", "one", "multi_datastream_id"),
            "FeatureOfInterest": Nav("FeaturesOfInterest", "one", "feature_of_interest_id"),
        },
    ),
    "FeaturesOfInterest": EntitySet(
        "FeaturesOfInterest",
        "FeatureOfInterest",
        FeatureOfInterest,
        {
            **_named({"name": "name", "description": "description"}, ("name",)),
            "encodingType": Prop("text", ("encoding_type",), default="application/geo+json"),
            "feature": Prop("geojson", ("feature",), required=True),
            "properties": _json("properties"),
        },
        {"Observations": Nav("Observations", "many", "feature_of_interest_id")},
    ),
}
BY_SINGULAR = {entity_set.singular: entity_set for entity_set in SETS.values()}


def entity_set(name: str) -> EntitySet:
    """The entity set called ``name`` (plural), or a 404 problem."""
    found = SETS.get(name)
    if found is None:
        raise NotFound(f"there is no entity set {name!r}", code="sta_not_found")
    return found


# --- times ----------------------------------------------------------------------------------


def format_time(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as SensorThings clients expect."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: Any, *, name: str) -> datetime:
    """An instant from ISO 8601 text; a time without a zone is refused, not guessed."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be an ISO 8601 time", code="sta_bad_time")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            f"{name}: {value!r} is not an ISO 8601 time", code="sta_bad_time"
        ) from exc
    if moment.tzinfo is None:
        raise ValidationFailed(f"{name} needs a time zone (Z or +08:00)", code="sta_bad_time")
    return moment.astimezone(UTC)


def parse_interval(value: Any, *, name: str) -> tuple[datetime | None, datetime | None]:
    """``start/end`` or one instant (then end is None); null clears both."""
    if value is None:
        return None, None
    if isinstance(value, str) and "/" in value:
        start, end = value.split("/", 1)
        return parse_time(start, name=name), parse_time(end, name=name)
    return parse_time(value, name=name), None


def format_interval(start: datetime | None, end: datetime | None) -> str | None:
    if start is None:
        return None
    if end is None:
        return format_time(start)
    return f"{format_time(start)}/{format_time(end)}"


# --- geometry -------------------------------------------------------------------------------


def geometry_of(value: Any) -> dict[str, Any]:
    """The GeoJSON geometry in a geometry or a Feature, checked to be one."""
    if not isinstance(value, dict):
        raise ValidationFailed("a location must be a GeoJSON object", code="sta_bad_geojson")
    geometry = value.get("geometry") if value.get("type") == "Feature" else value
    try:
        shape(geometry)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise ValidationFailed(f"not a GeoJSON geometry: {exc}", code="sta_bad_geojson") from exc
    return geometry  # type: ignore[return-value]


def location_columns(value: Any) -> dict[str, float | None]:
    """The bounding box (and, for a point, lon/lat) a Location keeps beside its GeoJSON."""
    geometry = shape(geometry_of(value))
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    is_point = geometry.geom_type == "Point"
    return {
        "lon": geometry.x if is_point else None,
        "lat": geometry.y if is_point else None,
        "min_lon": min_lon,
        "min_lat": min_lat,
        "max_lon": max_lon,
        "max_lat": max_lat,
    }


# --- JSON out -------------------------------------------------------------------------------


def read_prop(row: Any, prop: Prop) -> Any:
    """A property of a loaded row, as the standard writes it."""
    if prop.kind == "interval":
        return format_interval(getattr(row, prop.columns[0]), getattr(row, prop.columns[1]))
    if prop.kind == "time":
        return format_time(getattr(row, prop.columns[0]))
    if prop.kind == "result":
        number = row.result_number
        if number is None:
            return row.result_json
        # Numbers are stored as floats; a whole one goes out as the integer it was sent as.
        return int(number) if float(number).is_integer() else number
    return getattr(row, prop.columns[0])


def self_link(base: str, entity: EntitySet, key: int) -> str:
    return f"{base}/{entity.name}({key})"


def serialise(
    row: Any,
    entity: EntitySet,
    *,
    base: str,
    select: list[str] | None,
    expanded: dict[str, Any],
) -> dict[str, Any]:
    """One entity as JSON: id and links, the (selected) properties, navigation links for
    what is not expanded, and the expanded entities under their navigation names."""
    wanted = None if select is None else set(select)
    link = self_link(base, entity, row.id)
    out: dict[str, Any] = {}
    if wanted is None or wanted & {"id", "@iot.id"}:
        out["@iot.id"] = row.id
    if wanted is None or wanted & {"selfLink", "@iot.selfLink"}:
        out["@iot.selfLink"] = link
    for name, prop in entity.props.items():
        if wanted is None or name in wanted:
            out[name] = read_prop(row, prop)
    for name in entity.navs:
        if name in expanded:
            for key, value in expanded[name].items():
                out[key] = value
        elif wanted is None or name in wanted:
            out[f"{name}@iot.navigationLink"] = f"{link}/{name}"
    return out
