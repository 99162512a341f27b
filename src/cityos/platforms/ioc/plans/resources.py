"""Resources a plan sends: teams, vehicles, materials and shelters, from each pack's
``resources.geojson``; the nearest available ones by travel distance (``routing``), sent to
a run when it reaches a level that asks for them and freed when it ends.

A file is a GeoJSON FeatureCollection of Points whose properties are ``code``, ``type``
(``drainage-team``, ``pump-truck``, ``sandbags``, ``shelter`` …), ``kind`` (team, vehicle,
material, shelter), ``name``/``name_en``, optionally ``department`` (a unit's code),
``capacity`` (people), ``quantity`` and ``unit``, and ``synthetic``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.geo import locate
from cityos.foundation.geo.models import Region
from cityos.foundation.identity.authz import Actor
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import NotFound, ValidationFailed
from cityos.kernel.profiles import (
    ProfileContext,
    ProfileDocuments,
    ProfileIssue,
    sync_by_code,
)
from cityos.kernel.registry import ProfileSection
from cityos.platforms.ioc.plans.definition import Level, PlanDef, ResourceDef, rank
from cityos.platforms.ioc.plans.models import PlanEvent, PlanRun, Resource, ResourceStatus
from cityos.platforms.ioc.plans.routing import Trip, road_graph

Kind = Literal["team", "vehicle", "material", "shelter"]


class ResourceNotFound(NotFound):
    code = "resource_not_found"


# --- the profile ---------------------------------------------------------------------------


class ResourceProperties(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
    type: str = Field(pattern=r"^[a-z][a-z0-9-]{1,63}$")
    kind: Kind
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=300)
    department: str | None = None
    capacity: int | None = Field(default=None, ge=0)
    quantity: float | None = Field(default=None, ge=0)
    unit: str | None = Field(default=None, max_length=32)
    synthetic: bool = False


class PointGeometry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"]
    coordinates: tuple[float, float]


class ResourceFeature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"]
    geometry: PointGeometry
    properties: ResourceProperties


class ResourcesFile(BaseModel):
    """``packs/*/resources.geojson``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["FeatureCollection"]
    name: str = ""
    synthetic: bool = False
    features: list[ResourceFeature] = Field(min_length=1)


def _check(documents: ProfileDocuments) -> list[ProfileIssue]:
    from cityos.foundation.identity.profile import walk

    departments = {
        entry.code
        for file in documents.earlier.get("departments", [])
        for entry, _ in walk(getattr(file.document, "departments", []))
    }
    issues: list[ProfileIssue] = []
    seen: dict[str, str] = {}
    for file in documents.files:
        assert isinstance(file.document, ResourcesFile)
        for i, feature in enumerate(file.document.features):
            props = feature.properties
            where = ("features", i, "properties")
            if props.code in seen:
                issues.append(
                    ProfileIssue(
                        file.relative,
                        file.line_of((*where, "code")),
                        props.code,
                        f"resource code {props.code!r} is already used in {seen[props.code]}",
                    )
                )
            seen.setdefault(props.code, file.relative)
            if departments and props.department and props.department not in departments:
                issues.append(
                    ProfileIssue(
                        file.relative,
                        file.line_of((*where, "department")),
                        props.code,
                        f"unknown department {props.department!r}",
                    )
                )
    return issues


def _load(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    wanted: dict[str, dict[str, Any]] = {}
    for file, document in zip(context.files, documents, strict=True):
        assert isinstance(document, ResourcesFile)
        pack = PurePosixPath(str(file)).parent.name
        for feature in document.features:
            props = feature.properties
            lon, lat = feature.geometry.coordinates
            chain = locate(session, lon=lon, lat=lat)
            wanted[props.code] = {
                "type": props.type,
                "kind": props.kind,
                "name_zh": props.name,
                "name_en": props.name_en,
                "department_code": props.department,
                "lon": lon,
                "lat": lat,
                "region_code": chain.levels()[-1].code if chain else None,
                "capacity": props.capacity,
                "quantity": props.quantity,
                "unit": props.unit,
                "pack": pack,
                "synthetic": props.synthetic or document.synthetic,
            }
    # A reload keeps what a resource is doing (status, run): only the profile's fields change.
    sync_by_code(session, Resource, wanted, context=context, counter="resources")


# After the geo regions (to place each resource) and the departments it names.
resources_section = ProfileSection(
    name="ioc-resources",
    files=("packs/*/resources.geojson",),
    schema=ResourcesFile,
    load=_load,
    order=325,
    required=False,
    check=_check,
)


# --- finding and sending ---------------------------------------------------------------------


def nearest(
    session: Session,
    *,
    type: str,
    origin: tuple[float, float],
    count: int,
    available_only: bool = True,
) -> list[tuple[Resource, Trip]]:
    """The ``count`` resources of ``type`` nearest ``origin`` (lon, lat) by travel distance
    (along the roads where the profile has them), nearest first."""
    stmt = select(Resource).where(Resource.type == type, Resource.active)
    if available_only:
        stmt = stmt.where(Resource.status == ResourceStatus.AVAILABLE.value)
    graph = road_graph(session)
    trips = [(row, graph.trip(origin, (row.lon, row.lat))) for row in session.scalars(stmt)]
    trips.sort(key=lambda pair: (pair[1].metres, pair[0].code))
    return trips[:count]


def origin_of(session: Session, run: PlanRun) -> tuple[float, float] | None:
    """Where a run's resources go: the centre of its affected area, else of its region."""
    if run.area:
        centre = shape(run.area).centroid
        return (centre.x, centre.y)
    region = session.get(Region, run.region_code)
    return (region.centroid_lon, region.centroid_lat) if region else None


def dispatch_for(
    session: Session, run: PlanRun, document: PlanDef, level: Level, actor: Actor | None
) -> list[tuple[Resource, Trip]]:
    """Send the resources ``level`` and the lower levels ask for and have not been sent,
    the nearest available of each type."""
    origin = origin_of(session, run)
    if origin is None:
        return []
    done = {
        event.data.get("level")
        for event in session.scalars(
            select(PlanEvent).where(
                PlanEvent.run_id == run.id, PlanEvent.kind == "resources_dispatched"
            )
        )
    }
    sent: list[tuple[Resource, Trip]] = []
    for declared_level, declared in document.levels.items():
        if rank(declared_level) > rank(level) or declared_level in done:
            continue
        sent.extend(_send(session, run, declared_level, declared.resources, origin, actor))
    session.flush()
    return sent


def _send(
    session: Session,
    run: PlanRun,
    level: str,
    wanted_list: Sequence[ResourceDef],
    origin: tuple[float, float],
    actor: Actor | None,
) -> list[tuple[Resource, Trip]]:
    sent: list[tuple[Resource, Trip]] = []
    for wanted in wanted_list:
        found = nearest(session, type=wanted.type, origin=origin, count=wanted.nearest)
        for resource, trip in found:
            resource.status = ResourceStatus.DISPATCHED.value
            resource.run_id = run.id
            sent.append((resource, trip))
        missing = wanted.nearest - len(found)
        _note(
            session,
            run,
            "resources_dispatched",
            actor,
            {
                "level": level,
                "type": wanted.type,
                "asked": wanted.nearest,
                "missing": missing,
                "sent": [
                    {
                        "code": r.code,
                        "name": r.name_zh,
                        "metres": round(t.metres),
                        "method": t.method,
                    }
                    for r, t in found
                ],
            },
        )
    return sent


def release(session: Session, run: PlanRun, actor: Actor | None) -> int:
    """Free every resource sent to ``run`` (it ended)."""
    rows = list(session.scalars(select(Resource).where(Resource.run_id == run.id)))
    for row in rows:
        row.status, row.run_id = ResourceStatus.AVAILABLE.value, None
    if rows:
        _note(session, run, "resources_released", actor, {"codes": [r.code for r in rows]})
        session.flush()
    return len(rows)


def of_run(session: Session, run_id: uuid.UUID) -> list[Resource]:
    return list(
        session.scalars(select(Resource).where(Resource.run_id == run_id).order_by(Resource.code))
    )


def set_status(session: Session, *, code: str, status: str, actor: Actor) -> Resource:
    """Mark a resource available or unavailable by hand (a team off duty, a truck broken)."""
    row = session.get(Resource, code)
    if row is None or not row.active:
        raise ResourceNotFound(f"no resource {code!r}")
    if status not in (ResourceStatus.AVAILABLE.value, ResourceStatus.UNAVAILABLE.value):
        raise ValidationFailed(
            "a resource is set available or unavailable by hand; runs dispatch it",
            errors=[{"field": "status", "message": "available or unavailable"}],
        )
    row.status, row.run_id = status, None
    session.flush()
    return row


def feature(row: Resource, trip: Trip | None = None) -> dict[str, Any]:
    """A resource as a GeoJSON Feature for the map."""
    properties: dict[str, Any] = {
        "code": row.code,
        "type": row.type,
        "kind": row.kind,
        "name": {"zh": row.name_zh, "en": row.name_en},
        "department": row.department_code,
        "capacity": row.capacity,
        "quantity": row.quantity,
        "unit": row.unit,
        "status": row.status,
        "run_id": str(row.run_id) if row.run_id else None,
        "region_code": row.region_code,
        "synthetic": row.synthetic,
    }
    if trip is not None:
        properties |= {"metres": round(trip.metres), "method": trip.method}
    return {
        "type": "Feature",
        "id": row.code,
        "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
        "properties": properties,
    }


def _note(
    session: Session, run: PlanRun, kind: str, actor: Actor | None, data: dict[str, Any]
) -> None:
    session.add(
        PlanEvent(
            run_id=run.id,
            at=utcnow(),
            kind=kind,
            actor=actor.username if actor else "system",
            data=data,
        )
    )


def listed(
    session: Session, *, type: str | None, kind: str | None, status: str | None
) -> Sequence[Resource]:
    stmt = select(Resource).where(Resource.active).order_by(Resource.code)
    if type is not None:
        stmt = stmt.where(Resource.type == type)
    if kind is not None:
        stmt = stmt.where(Resource.kind == kind)
    if status is not None:
        stmt = stmt.where(Resource.status == status)
    return list(session.scalars(stmt))
