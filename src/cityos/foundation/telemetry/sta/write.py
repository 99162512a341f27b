"""Writing SensorThings entities: create (with deep insert), update (merge or JSON-Patch),
delete (with the cascades the standard implies) and the ``CreateObservations`` action.

Observations go through ``ingest`` like every other door, so the same checks, the
idempotence on (stream, phenomenonTime), the latest values, rollups and rules apply. An
Observation without a FeatureOfInterest gets the one made from its Thing's Location, made
once per Location. A Thing whose Locations change gets a HistoricalLocation.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cityos.foundation.geo import locate
from cityos.foundation.identity.authz import Actor
from cityos.foundation.telemetry.ingest import NUMERIC_TYPES, Reading, ingest
from cityos.foundation.telemetry.models import (
    Datastream,
    FeatureOfInterest,
    HistoricalLocation,
    HistoricalLocationLocation,
    Location,
    MultiDatastream,
    MultiDatastreamProperty,
    Observation,
    Rollup,
    RollupDelta,
    Thing,
    ThingLocation,
)
from cityos.foundation.telemetry.sta.entities import (
    SETS,
    EntitySet,
    Nav,
    Prop,
    geometry_of,
    location_columns,
    parse_interval,
    parse_time,
    read_prop,
)
from cityos.foundation.telemetry.sta.read import fetch
from cityos.kernel.clock import utcnow
from cityos.kernel.db import is_postgresql
from cityos.kernel.errors import DomainError

WRITE = "telemetry.write"
# Keys a client may send back as they were read; they are never written.
ANNOTATIONS = {"@iot.id", "id", "@iot.selfLink", "selfLink"}


class BadEntity(DomainError):
    """A request body that does not describe a valid entity."""

    status = 400
    code = "sta_bad_entity"


@dataclass(frozen=True)
class Created:
    """An entity made (or, for a resent Observation, found: ``existing``)."""

    entity: EntitySet
    id: int
    existing: bool = False


def _reference(value: Any) -> int | None:
    """The id of ``{"@iot.id": n}``, the way an entity that already exists is named."""
    if isinstance(value, dict) and "@iot.id" in value:
        key = value["@iot.id"]
        if isinstance(key, bool) or not isinstance(key, int):
            raise BadEntity(f"@iot.id must be a whole number, not {key!r}")
        return key
    return None


class Writer:
    """Writes on behalf of ``actor``, within the actor's reach for ``telemetry.write``."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    # -- create

    def create(
        self,
        entity: EntitySet,
        body: Any,
        *,
        parent: Any = None,
        parent_entity: EntitySet | None = None,
        nav: Nav | None = None,
    ) -> Created:
        """Create ``entity`` from ``body`` (deep insert), linked to ``parent`` through
        ``nav`` when posted to a navigation path such as ``Things(1)/Datastreams``."""
        fixed: dict[str, Any] = {}
        if nav is not None and parent is not None:
            if nav.kind == "many":
                fixed[nav.key] = parent.id
            elif nav.kind == "one":
                raise BadEntity("post to the collection, then link the entity here")
        created = self._create(entity, body, fixed)
        if nav is not None and nav.kind == "link" and parent_entity is not None:
            # Posted to a many-to-many path (Things(1)/Locations): link the new entity.
            self._link(parent_entity, parent.id, nav, [{"@iot.id": created.id}], replace=False)
        return created

    def _existing(self, entity: EntitySet, key: int) -> int:
        return int(fetch(self.session, entity, key, actor=self.actor, permission=WRITE).id)

    def _create(self, entity: EntitySet, body: Any, fixed: dict[str, Any]) -> Created:
        if not isinstance(body, dict):
            raise BadEntity(f"a {entity.singular} must be a JSON object")
        key = _reference(body)
        if key is not None:
            return Created(entity, self._existing(entity, key))
        self._refuse_unknown(entity, body)
        if entity.name == "Observations":
            return self._observation(body, fixed)
        values = dict(fixed)
        for name, prop in entity.props.items():
            if name in body:
                values.update(self._columns(entity, name, prop, body[name]))
            elif prop.required:
                raise BadEntity(f"a {entity.singular} needs {name}", code="sta_missing_property")
            elif prop.default is not None:
                values[prop.columns[0]] = prop.default
        for name, nav in entity.navs.items():
            if nav.kind != "one":
                continue
            if name in body:
                values[nav.key] = self._create(SETS[nav.target], body[name], {}).id
            elif nav.required and nav.key not in values:
                raise BadEntity(f"a {entity.singular} needs its {name}", code="sta_missing_link")
        row: Any = entity.model(**values)
        self.session.add(row)
        self.session.flush()
        for name, nav in entity.navs.items():
            if name not in body or nav.kind == "one":
                continue
            items = body[name]
            if not isinstance(items, list):
                raise BadEntity(f"{name} must be a list")
            if nav.kind == "many":
                self._adopt(row.id, nav, items)
            else:
                self._link(entity, row.id, nav, items, replace=False)
        if entity.name == "MultiDatastreams":
            self._check_widths(row)
        return Created(entity, row.id)

    @staticmethod
    def _refuse_unknown(entity: EntitySet, body: dict[str, Any]) -> None:
        unknown = sorted(
            k
            for k in body
            if k not in entity.props and k not in entity.navs and k not in ANNOTATIONS
        )
        if unknown:
            raise BadEntity(
                f"a {entity.singular} has no {', '.join(unknown)}", code="sta_unknown_property"
            )

    def _columns(self, entity: EntitySet, name: str, prop: Prop, value: Any) -> dict[str, Any]:
        """The column values of one property as sent."""
        columns = prop.columns
        if prop.kind == "text":
            if not isinstance(value, str):
                raise BadEntity(f"{name} must be text")
            return {columns[0]: value}
        if prop.kind == "time":
            return {columns[0]: None if value is None else parse_time(value, name=name)}
        if prop.kind == "interval":
            start, end = parse_interval(value, name=name)
            return {columns[0]: start, columns[1]: end}
        if prop.kind == "geojson":
            if value is None and not prop.required:
                return {columns[0]: None}
            geometry_of(value)
            if entity.name == "Locations":
                return {columns[0]: value, **location_columns(value)}
            return {columns[0]: value}
        if name in {"multiObservationDataTypes", "unitOfMeasurements"} and not isinstance(
            value, list
        ):
            raise BadEntity(f"{name} must be a list")
        return {columns[0]: value}

    def _check_widths(self, row: MultiDatastream) -> None:
        properties = self.session.scalar(
            select(func.count()).where(MultiDatastreamProperty.multi_datastream_id == row.id)
        )
        widths = {len(row.multi_observation_data_types), len(row.unit_of_measurements), properties}
        if len(widths) != 1:
            raise BadEntity(
                "a MultiDatastream needs as many ObservedProperties as "
                "multiObservationDataTypes and unitOfMeasurements"
            )

    def _adopt(self, parent_id: int, nav: Nav, items: list[Any]) -> None:
        """Children of a new or changed entity: made, or (``{"@iot.id": n}``) moved here."""
        target = SETS[nav.target]
        for item in items:
            key = _reference(item)
            if key is None:
                self._create(target, item, {nav.key: parent_id})
            elif target.name == "Observations":
                raise BadEntity("an Observation cannot move to another stream")
            else:
                self._existing(target, key)
                self.session.execute(
                    update(target.model)
                    .where(target.model.id == key)  # type: ignore[attr-defined]
                    .values({nav.key: parent_id})
                )

    def _link(
        self, entity: EntitySet, key: int, nav: Nav, items: list[Any], *, replace: bool
    ) -> None:
        """Pair the entity ``key`` with ``items`` (made or named) through ``nav``'s table.
        A Thing's Locations are replaced when it gets new ones (it is at one place at a
        time); each change leaves a HistoricalLocation."""
        assert nav.through is not None
        through = nav.through
        if through is MultiDatastreamProperty and entity.name != "MultiDatastreams":
            raise BadEntity("a MultiDatastream's ObservedProperties are set on the MultiDatastream")
        target = SETS[nav.target]
        others = [self._create(target, item, {}).id for item in items]
        moved_things: set[int] = set()
        if entity.name == "Things" and target.name == "Locations":
            replace, moved_things = True, {key}
        elif entity.name == "Locations" and target.name == "Things":
            moved_things = set(others)
            self.session.execute(
                delete(ThingLocation).where(
                    ThingLocation.thing_id.in_(others), ThingLocation.location_id != key
                )
            )
        if replace:
            self.session.execute(delete(through).where(getattr(through, nav.key) == key))
        for position, other in enumerate(others):
            pair = {nav.key: key, nav.other: other}
            if through is MultiDatastreamProperty:
                pair["position"] = position
            exists = self.session.scalar(
                select(func.count())
                .select_from(through)
                .where(getattr(through, nav.key) == key, getattr(through, nav.other) == other)
            )
            if not exists:
                self.session.add(through(**pair))
        self.session.flush()
        for thing_id in sorted(moved_things):
            self._record_history(thing_id)

    def _record_history(self, thing_id: int) -> None:
        history = HistoricalLocation(thing_id=thing_id, time=utcnow())
        self.session.add(history)
        self.session.flush()
        points: list[tuple[float, float]] = []
        for location_id, lon, lat in self.session.execute(
            select(ThingLocation.location_id, Location.lon, Location.lat)
            .join(Location, Location.id == ThingLocation.location_id)
            .where(ThingLocation.thing_id == thing_id)
            .order_by(ThingLocation.location_id)
        ):
            self.session.add(
                HistoricalLocationLocation(
                    historical_location_id=history.id, location_id=location_id
                )
            )
            if lon is not None and lat is not None:
                points.append((lon, lat))
        self._place(thing_id, points)
        self.session.flush()

    def _place(self, thing_id: int, points: list[tuple[float, float]]) -> None:
        """A Thing stands in the deepest region of its first point, so jurisdiction applies
        to what arrives through this API as to the registry's devices; outside the district
        (or without a point) it has no region and only district-wide readers see it."""
        thing = self.session.get(Thing, thing_id)
        if thing is None:
            return
        chain = locate(self.session, lon=points[0][0], lat=points[0][1]) if points else None
        thing.region_code = chain.deepest.code if chain is not None else None

    # -- observations

    def _observation(self, body: dict[str, Any], fixed: dict[str, Any]) -> Created:
        entity = SETS["Observations"]
        if "result" not in body:
            raise BadEntity("an Observation needs a result", code="sta_missing_property")
        datastream_id = fixed.get("datastream_id")
        multi_id = fixed.get("multi_datastream_id")
        if "Datastream" in body:
            datastream_id = self._create(SETS["Datastreams"], body["Datastream"], {}).id
        if "MultiDatastream" in body:
            multi_id = self._create(SETS["MultiDatastreams"], body["MultiDatastream"], {}).id
        if (datastream_id is None) == (multi_id is None):
            raise BadEntity(
                "an Observation belongs to one Datastream or one MultiDatastream",
                code="sta_missing_link",
            )
        if "FeatureOfInterest" in body:
            feature: int | None = self._create(
                SETS["FeaturesOfInterest"], body["FeatureOfInterest"], {}
            ).id
        else:
            feature = None
        reading = self._reading(body, datastream_id, multi_id, feature)
        return self._ingest_one(entity, reading)

    def _stream_thing(self, datastream_id: int | None, multi_id: int | None) -> int:
        if datastream_id is not None:
            return int(self._fetch("Datastreams", datastream_id).thing_id)
        assert multi_id is not None
        return int(self._fetch("MultiDatastreams", multi_id).thing_id)

    def _fetch(self, name: str, key: int) -> Any:
        return fetch(self.session, SETS[name], key, actor=self.actor, permission=WRITE)

    def _reading(
        self,
        values: dict[str, Any],
        datastream_id: int | None,
        multi_id: int | None,
        feature: int | None,
    ) -> Reading:
        thing_id = self._stream_thing(datastream_id, multi_id)
        start, end = parse_interval(values.get("phenomenonTime"), name="phenomenonTime")
        valid_start, valid_end = parse_interval(values.get("validTime"), name="validTime")
        result_time = values.get("resultTime")
        parameters = values.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise BadEntity("parameters must be a JSON object")
        return Reading(
            # The standard lets the service stamp an Observation sent without a time.
            phenomenon_time=start or utcnow(),
            phenomenon_time_end=end,
            result=values["result"],
            datastream_id=datastream_id,
            multi_datastream_id=multi_id,
            result_time=None if result_time is None else parse_time(result_time, name="resultTime"),
            result_quality=values.get("resultQuality"),
            valid_time_start=valid_start,
            valid_time_end=valid_end,
            parameters=parameters,
            feature_of_interest_id=feature if feature is not None else self._feature(thing_id),
        )

    def _ingest_one(self, entity: EntitySet, reading: Reading) -> Created:
        report = ingest(self.session, [reading])
        if report.rejected:
            refusal = report.rejected[0]
            raise BadEntity(refusal.message, code=refusal.code)
        if report.stored:
            return Created(entity, report.stored[0].id)
        return Created(entity, self._stored_id(reading), existing=True)

    def _stored_id(self, reading: Reading) -> int:
        """The id of the Observation already stored for a resent reading."""
        found = self.session.scalar(
            select(Observation.id).where(
                Observation.datastream_id == reading.datastream_id
                if reading.datastream_id is not None
                else Observation.multi_datastream_id == reading.multi_datastream_id,
                Observation.phenomenon_time == reading.phenomenon_time,
            )
        )
        assert found is not None, "ingest reported a duplicate that is not stored"
        return int(found)

    def _feature(self, thing_id: int) -> int:
        """The FeatureOfInterest made from the Thing's Location (made now if need be)."""
        location = self.session.scalars(
            select(Location)
            .join(ThingLocation, ThingLocation.location_id == Location.id)
            .where(ThingLocation.thing_id == thing_id)
            .order_by(Location.id)
            .limit(1)
        ).first()
        if location is None:
            raise BadEntity(
                "the Observation names no FeatureOfInterest and its Thing has no Location",
                code="sta_no_feature_of_interest",
            )
        insert = postgresql.insert if is_postgresql(self.session) else sqlite.insert
        # Two writers may make it at once; the unique location_id keeps one.
        self.session.execute(
            insert(FeatureOfInterest)
            .values(
                name=location.name,
                description=location.description,
                encoding_type=location.encoding_type,
                feature=location.location,
                location_id=location.id,
            )
            .on_conflict_do_nothing(index_elements=["location_id"])
        )
        return int(
            self.session.scalars(
                select(FeatureOfInterest.id).where(FeatureOfInterest.location_id == location.id)
            ).one()
        )

    def create_observations(self, body: Any) -> list[int | None]:
        """The ``CreateObservations`` action: rows of ``dataArray`` per stream, stored in one
        batch; the id of each row's Observation, or None for a row that was refused."""
        if not isinstance(body, list):
            raise BadEntity("CreateObservations takes a list of streams with dataArray")
        readings: list[Reading | None] = []
        for group in body:
            readings.extend(self._group(group))
        places = [index for index, reading in enumerate(readings) if reading is not None]
        report = ingest(self.session, [r for r in readings if r is not None])
        refused = {places[r.index] for r in report.rejected}
        stored = {(s.reading.stream_key, s.reading.phenomenon_time): s.id for s in report.stored}
        ids: list[int | None] = []
        for index, reading in enumerate(readings):
            if reading is None or index in refused:
                ids.append(None)
                continue
            key = (reading.stream_key, reading.phenomenon_time)
            ids.append(stored[key] if key in stored else self._stored_id(reading))
        return ids

    def _group(self, group: Any) -> list[Reading | None]:
        if not isinstance(group, dict):
            raise BadEntity("each CreateObservations item must be a JSON object")
        components = group.get("components")
        rows = group.get("dataArray")
        if not isinstance(components, list) or not isinstance(rows, list):
            raise BadEntity("each CreateObservations item needs components and dataArray")
        if "result" not in components:
            raise BadEntity("components must include result")
        datastream_id = _reference(group.get("Datastream"))
        multi_id = _reference(group.get("MultiDatastream"))
        if (datastream_id is None) == (multi_id is None):
            raise BadEntity("each item names one Datastream or MultiDatastream by @iot.id")
        readings: list[Reading | None] = []
        for row in rows:
            if not isinstance(row, list) or len(row) != len(components):
                readings.append(None)
                continue
            values = dict(zip(components, row, strict=True))
            feature = values.pop("FeatureOfInterest/id", None)
            try:
                if feature is not None:
                    feature = self._existing(SETS["FeaturesOfInterest"], int(feature))
                readings.append(self._reading(values, datastream_id, multi_id, feature))
            except (DomainError, ValueError, TypeError):
                readings.append(None)
        return readings

    # -- update

    def patch(self, entity: EntitySet, row: Any, body: Any) -> None:
        """Merge ``body`` into the entity: the properties it names, and links given as
        ``{"@iot.id": n}`` (or new entities) for its navigation properties."""
        if not isinstance(body, dict):
            raise BadEntity("a PATCH body is a JSON object")
        self._refuse_unknown(entity, body)
        for name, value in body.items():
            if name in ANNOTATIONS:
                if name in {"@iot.id", "id"} and value != row.id:
                    raise BadEntity("an entity's id cannot change")
                continue
            prop = entity.props.get(name)
            if prop is not None:
                if value is None and prop.required:
                    raise BadEntity(f"{name} cannot be removed")
                if prop.kind == "result":
                    self._set_result(row, value)
                else:
                    for column, column_value in self._columns(entity, name, prop, value).items():
                        setattr(row, column, column_value)
                continue
            nav = entity.navs[name]
            if entity.name == "Observations":
                raise BadEntity("an Observation stays in its stream; post a new one instead")
            if nav.kind == "one":
                setattr(row, nav.key, self._create(SETS[nav.target], value, {}).id)
            elif nav.kind == "link":
                if not isinstance(value, list):
                    raise BadEntity(f"{name} must be a list")
                self._link(entity, row.id, nav, value, replace=True)
            else:
                if not isinstance(value, list):
                    raise BadEntity(f"{name} must be a list")
                self._adopt(row.id, nav, value)
        self.session.flush()

    def _set_result(self, row: Observation, value: Any) -> None:
        numeric = False
        if row.datastream_id is not None:
            kind = self.session.scalar(
                select(Datastream.observation_type).where(Datastream.id == row.datastream_id)
            )
            numeric = kind in NUMERIC_TYPES
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and not is_number:
            raise BadEntity("this Datastream takes numbers", code="not_numeric")
        row.result_number = float(value) if is_number else None
        row.result_json = None if is_number else value

    def json_patch(self, entity: EntitySet, row: Any, operations: Any) -> None:
        """Apply RFC 6902 ``operations`` to the entity's properties."""
        before = {name: read_prop(row, prop) for name, prop in entity.props.items()}
        after = apply_json_patch(before, operations)
        unknown = set(after) - set(entity.props)
        if unknown:
            raise BadEntity(f"a {entity.singular} has no {', '.join(sorted(unknown))}")
        changes = {
            name: after.get(name) for name in entity.props if after.get(name) != before[name]
        }
        self.patch(entity, row, changes)

    # -- delete

    def delete(self, entity: EntitySet, row: Any) -> None:
        """Delete the entity and what cannot exist without it."""
        session = self.session
        if entity.name == "Things":
            self._delete_streams(
                select(Datastream.id).where(Datastream.thing_id == row.id),
                select(MultiDatastream.id).where(MultiDatastream.thing_id == row.id),
            )
        elif entity.name == "Datastreams":
            self._delete_streams(select(Datastream.id).where(Datastream.id == row.id), None)
        elif entity.name == "MultiDatastreams":
            self._delete_streams(
                None, select(MultiDatastream.id).where(MultiDatastream.id == row.id)
            )
        elif entity.name == "Sensors":
            self._delete_streams(
                select(Datastream.id).where(Datastream.sensor_id == row.id),
                select(MultiDatastream.id).where(MultiDatastream.sensor_id == row.id),
            )
        elif entity.name == "ObservedProperties":
            self._delete_streams(
                select(Datastream.id).where(Datastream.observed_property_id == row.id),
                select(MultiDatastreamProperty.multi_datastream_id).where(
                    MultiDatastreamProperty.observed_property_id == row.id
                ),
            )
        elif entity.name == "FeaturesOfInterest":
            session.execute(delete(Observation).where(Observation.feature_of_interest_id == row.id))
        elif entity.name == "Locations":
            # A HistoricalLocation that was only here has nothing left to say.
            alone = (
                select(HistoricalLocationLocation.historical_location_id)
                .group_by(HistoricalLocationLocation.historical_location_id)
                .having(func.count() == 1)
            )
            session.execute(
                delete(HistoricalLocation).where(
                    HistoricalLocation.id.in_(
                        select(HistoricalLocationLocation.historical_location_id).where(
                            HistoricalLocationLocation.location_id == row.id,
                            HistoricalLocationLocation.historical_location_id.in_(alone),
                        )
                    )
                )
            )
        if entity.name == "Observations":
            session.execute(delete(Observation).where(Observation.id == row.id))
        else:
            session.execute(delete(entity.model).where(entity.model.id == row.id))  # type: ignore[attr-defined]
        session.flush()
        session.expunge(row)

    def _delete_streams(self, datastreams: Any, multis: Any) -> None:
        """Delete streams (given as id subqueries) with their Observations and rollups."""
        session = self.session
        conditions = []
        if datastreams is not None:
            ids = list(session.scalars(datastreams))
            conditions.append(Observation.datastream_id.in_(ids))
            session.execute(delete(Rollup).where(Rollup.datastream_id.in_(ids)))
            session.execute(delete(RollupDelta).where(RollupDelta.datastream_id.in_(ids)))
            session.execute(delete(Datastream).where(Datastream.id.in_(ids)))
        if multis is not None:
            multi_ids = list(session.scalars(multis))
            conditions.append(Observation.multi_datastream_id.in_(multi_ids))
            session.execute(delete(MultiDatastream).where(MultiDatastream.id.in_(multi_ids)))
        session.execute(delete(Observation).where(or_(*conditions)))


# --- JSON-Patch (RFC 6902) over an entity's properties --------------------------------------


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/"):
        raise BadEntity(f"a JSON-Patch path starts with '/', not {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(document: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(document, list):
            document = document[int(part)]
        elif isinstance(document, dict):
            document = document[part]
        else:
            raise KeyError(part)
    return document


def _get(document: Any, parts: list[str]) -> Any:
    try:
        return _walk(document, parts)
    except (KeyError, IndexError, ValueError) as exc:
        raise BadEntity(f"JSON-Patch path /{'/'.join(parts)} does not exist") from exc


def _remove(document: Any, parts: list[str]) -> Any:
    parent = _get(document, parts[:-1])
    try:
        if isinstance(parent, list):
            return parent.pop(int(parts[-1]))
        return parent.pop(parts[-1])
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise BadEntity(f"JSON-Patch path /{'/'.join(parts)} does not exist") from exc


def _add(document: Any, parts: list[str], value: Any) -> None:
    parent = _get(document, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if not 0 <= index <= len(parent):
            raise BadEntity(f"JSON-Patch index {last} is out of range")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise BadEntity(f"JSON-Patch cannot add below a {type(parent).__name__}")


def apply_json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """``document`` after the RFC 6902 ``operations`` (add, remove, replace, move, copy,
    test); the original is left alone, and a failed ``test`` refuses the whole patch."""
    if not isinstance(operations, list):
        raise BadEntity("a JSON-Patch body is a list of operations")
    result = copy.deepcopy(document)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise BadEntity("each JSON-Patch operation is an object with op and path")
        op, parts = operation["op"], _pointer(operation.get("path"))
        if op in {"add", "replace", "test"} and "value" not in operation:
            raise BadEntity(f"JSON-Patch {op} needs a value")
        if op == "add":
            _add(result, parts, copy.deepcopy(operation["value"]))
        elif op == "remove":
            _remove(result, parts)
        elif op == "replace":
            _get(result, parts)
            _remove(result, parts)
            _add(result, parts, copy.deepcopy(operation["value"]))
        elif op in {"move", "copy"}:
            source = _pointer(operation.get("from"))
            value = _remove(result, source) if op == "move" else copy.deepcopy(_get(result, source))
            _add(result, parts, value)
        elif op == "test":
            if _get(result, parts) != operation["value"]:
                raise BadEntity(
                    f"JSON-Patch test failed at {operation['path']}", code="sta_patch_test_failed"
                )
        else:
            raise BadEntity(f"unknown JSON-Patch op {op!r}")
    return result


__all__ = ["WRITE", "BadEntity", "Created", "Writer", "apply_json_patch"]
