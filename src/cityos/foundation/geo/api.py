"""The geo API: regions, locate, geocode, reverse, transform and OGC API – Features layers.

The reads answer from reference data the district publishes anyway (its regions, its
standard addresses, public layers such as shelters and landmarks); ``/aggregate`` computes
over the records it is sent and stores nothing. Nothing here changes data or reveals
personal data, so these routes are public. Each takes and returns a ``crs`` (WGS84 by
default; GCJ-02 and BD-09 for Chinese base maps).
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from cityos.foundation.geo import service
from cityos.foundation.geo.batch import geocode_file
from cityos.foundation.geo.blocks import BlockLevel, aggregate
from cityos.foundation.geo.crs import Crs, parse_crs, transform
from cityos.foundation.geo.gazetteer import gazetteer
from cityos.foundation.geo.geojson import parse_geometry
from cityos.foundation.geo.index import (
    Bbox,
    RegionChain,
    RegionRef,
    features_within,
    locate,
    nearest_features,
    region_index,
    reverse,
)
from cityos.foundation.geo.models import Level
from cityos.foundation.identity import Actor, require
from cityos.kernel.access import public
from cityos.kernel.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from cityos.kernel.files import content_disposition
from cityos.kernel.http import DbSession, RuntimeDep
from cityos.kernel.pagination import DEFAULT_LIMIT, MAX_LIMIT

log = logging.getLogger("cityos.geo")
router = APIRouter(prefix="/geo", tags=["geo 时空信息"], dependencies=[Depends(public())])
# Routes for signed-in staff; each declares its permission.
staff_router = APIRouter(prefix="/geo", tags=["geo 时空信息"])
MAX_AGGREGATE_RECORDS = 100_000

Lon = Annotated[float, Query(ge=-180, le=180, description="longitude in `crs`")]
Lat = Annotated[float, Query(ge=-90, le=90, description="latitude in `crs`")]
CrsParam = Annotated[
    str, Query(description="wgs84 (default), cgcs2000, gcj02 or bd09; EPSG codes accepted")
]


def _crs(text: str, field: str = "crs") -> Crs:
    return parse_crs(text, field=field)


def _to_wgs84(lon: float, lat: float, source: Crs) -> tuple[float, float]:
    if source in (Crs.WGS84, Crs.CGCS2000):
        return lon, lat
    x, y = transform(lon, lat, source=source, target=Crs.WGS84)
    return float(x), float(y)


def _from_wgs84(lon: float, lat: float, target: Crs) -> list[float]:
    if target in (Crs.WGS84, Crs.CGCS2000):
        return [round(lon, 7), round(lat, 7)]
    x, y = transform(lon, lat, source=Crs.WGS84, target=target)
    return [round(float(x), 7), round(float(y), 7)]


def _ref(ref: RegionRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"code": ref.code, "level": ref.level, "name": {"zh": ref.name_zh, "en": ref.name_en}}


def _chain(chain: RegionChain) -> dict[str, Any]:
    return {
        "district": _ref(chain.district),
        "subdistrict": _ref(chain.subdistrict),
        "community": _ref(chain.community),
        "grid": _ref(chain.grid),
    }


@router.get("/regions", summary="Regions (district, subdistricts, communities, grids)")
def regions(
    session: DbSession,
    level: Level | None = None,
    parent: Annotated[str | None, Query(pattern=r"^\d{6,15}$")] = None,
    geometry: bool = False,
    crs: CrsParam = "wgs84",
) -> dict[str, Any]:
    """Regions by code; with ``geometry=true`` a GeoJSON FeatureCollection."""
    target = _crs(crs)
    found = service.list_regions(session, level=level, parent=parent)
    if geometry:
        return {
            "type": "FeatureCollection",
            "crs": target.value,
            "features": [service.region_feature(r, target=target) for r in found],
        }
    return {
        "crs": target.value,
        "regions": [
            {
                "code": r.code,
                "level": r.level,
                "parent": r.parent_code,
                "name": {"zh": r.name_zh, "en": r.name_en},
                "synthetic": r.synthetic,
                "area_m2": round(r.area_m2, 1),
                "centroid": _from_wgs84(r.centroid_lon, r.centroid_lat, target),
            }
            for r in found
        ],
    }


@router.get("/regions/{code}", summary="One region as a GeoJSON Feature")
def region(session: DbSession, code: str, crs: CrsParam = "wgs84") -> dict[str, Any]:
    """The region with this code, with its geometry."""
    return service.region_feature(service.get_region(session, code=code), target=_crs(crs))


@router.get("/locate", summary="The regions a point lies in, or outside")
def locate_point(session: DbSession, lon: Lon, lat: Lat, crs: CrsParam = "wgs84") -> dict[str, Any]:
    """District, subdistrict, community and grid at a point; ``outside: true`` if none."""
    source = _crs(crs)
    x, y = _to_wgs84(lon, lat, source)
    chain = locate(session, lon=x, lat=y)
    answer: dict[str, Any] = {"crs": source.value, "point": [lon, lat], "outside": chain is None}
    if chain is not None:
        answer.update(_chain(chain))
    return answer


@router.get("/geocode", summary="Address text to a standard address, point and regions")
def geocode(
    session: DbSession,
    address: Annotated[str, Query(min_length=1, max_length=200)],
    crs: CrsParam = "wgs84",
) -> dict[str, Any]:
    """``matched`` with a point and confidence, or ``unsure``/``not_found`` with candidates.

    ``regions`` gives the matched address's region codes; ``chain`` the same regions with
    their names, as ``/locate`` answers them.
    """
    target = _crs(crs)
    result = gazetteer(session).geocode(address).as_dict()
    grid = (result.get("regions") or {}).get("grid")
    result["chain"] = _chain(region_index(session).chain(grid)) if grid else None
    if result["lon"] is not None:
        result["lon"], result["lat"] = _from_wgs84(result["lon"], result["lat"], target)
    for candidate in result["candidates"]:
        candidate["lon"], candidate["lat"] = _from_wgs84(candidate["lon"], candidate["lat"], target)
    result["crs"] = target.value
    return result


@router.get("/reverse", summary="The nearest standard address and the regions at a point")
def reverse_geocode(
    session: DbSession,
    lon: Lon,
    lat: Lat,
    crs: CrsParam = "wgs84",
    max_distance_m: Annotated[float, Query(gt=0, le=5000)] = 500.0,
) -> dict[str, Any]:
    """``outside: true`` outside the district; ``address: null`` when none is near enough."""
    source = _crs(crs)
    x, y = _to_wgs84(lon, lat, source)
    found = reverse(session, lon=x, lat=y, max_distance_m=max_distance_m)
    answer: dict[str, Any] = {"crs": source.value, "point": [lon, lat], "outside": found.outside}
    if found.chain is None:
        return answer
    answer.update(_chain(found.chain))
    if found.address is None:
        answer["address"] = None
        return answer
    place = found.address
    answer["address"] = {
        "code": place.code,
        "text": service.address_text(place, found.chain, city="深圳市"),
        "road": place.road,
        "number": place.number,
        "building": place.building,
        "unit": place.unit,
        "point": _from_wgs84(place.lon, place.lat, source),
        "distance_m": round(found.distance_m or 0.0, 1),
        "synthetic": place.synthetic,
    }
    return answer


@router.get("/transform", summary="Convert a point between WGS84, CGCS2000, GCJ-02 and BD-09")
def transform_point(
    lon: Lon,
    lat: Lat,
    source: Annotated[str, Query(alias="from")] = "wgs84",
    target: Annotated[str, Query(alias="to")] = "gcj02",
) -> dict[str, Any]:
    """The point in the target system (GCJ-02/BD-09 inverses are exact, not one-step)."""
    origin, goal = _crs(source, "from"), _crs(target, "to")
    x, y = transform(lon, lat, source=origin, target=goal)
    return {"from": origin.value, "to": goal.value, "lon": round(x, 7), "lat": round(y, 7)}


def _bbox(text: str | None) -> Bbox | None:
    if text is None:
        return None
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not (values[0] <= values[2] and values[1] <= values[3]):
        raise ValidationFailed(
            "bbox must be min_lon,min_lat,max_lon,max_lat",
            code="invalid_bbox",
            errors=[{"field": "bbox", "message": "four numbers, minimums first"}],
        )
    return (values[0], values[1], values[2], values[3])


def _collection(summary: service.LayerSummary, base: str) -> dict[str, Any]:
    layer = summary.layer
    return {
        "id": layer.id,
        "title": layer.title_zh,
        "title_en": layer.title_en,
        "geometry_type": layer.geometry_type,
        "synthetic": layer.synthetic,
        "count": summary.count,
        "extent": {"spatial": {"bbox": [list(summary.extent)] if summary.extent else []}},
        "properties": layer.properties,
        "links": [
            {"rel": "items", "type": "application/geo+json", "href": f"{base}/{layer.id}/items"}
        ],
    }


@router.get("/collections", summary="Layers (OGC API – Features collections)")
def collections(session: DbSession, request: Request) -> dict[str, Any]:
    """Every layer of the profile with its feature count and extent."""
    base = str(request.url_for("collections")).rstrip("/")
    return {"collections": [_collection(s, base) for s in service.list_layers(session)]}


@router.get("/collections/{layer_id}", summary="One layer (OGC API – Features collection)")
def collection(session: DbSession, request: Request, layer_id: str) -> dict[str, Any]:
    """The layer's description, property schema and extent."""
    service.get_layer(session, layer_id=layer_id)
    base = str(request.url_for("collections")).rstrip("/")
    summary = next(s for s in service.list_layers(session) if s.layer.id == layer_id)
    return _collection(summary, base)


@router.get("/collections/{layer_id}/items", summary="A page of a layer's features (GeoJSON)")
def items(
    session: DbSession,
    request: Request,
    layer_id: str,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
    crs: CrsParam = "wgs84",
) -> dict[str, Any]:
    """GeoJSON features in id order; ``next`` link while there are more."""
    target = _crs(crs)
    box = _bbox(bbox)
    if box is not None and target not in (Crs.WGS84, Crs.CGCS2000):
        lo = _to_wgs84(box[0], box[1], target)
        hi = _to_wgs84(box[2], box[3], target)
        box = (lo[0], lo[1], hi[0], hi[1])
    page = service.feature_page(session, layer_id=layer_id, bbox=box, cursor=cursor, limit=limit)
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "crs": target.value,
        "features": [service.feature_geojson(f, target=target) for f in page.items],
        "numberReturned": len(page.items),
        "links": [],
    }
    if page.next_cursor is not None:
        body["links"].append(
            {
                "rel": "next",
                "type": "application/geo+json",
                "href": str(request.url.include_query_params(cursor=page.next_cursor)),
            }
        )
    return body


class PlaceRecord(BaseModel):
    """One record to aggregate: a point (in the request's ``crs``) or a region code."""

    model_config = ConfigDict(extra="forbid")

    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    code: str | None = Field(default=None, pattern=r"^\d{9,15}$")
    value: float | None = None
    time: datetime | None = None


class AggregateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: BlockLevel
    h3_resolution: int = Field(default=9, ge=5, le=12)
    crs: str = "wgs84"
    records: list[PlaceRecord] = Field(max_length=MAX_AGGREGATE_RECORDS)


@router.post("/aggregate", summary="Block data: records per grid, community, subdistrict or H3")
def aggregate_records(session: DbSession, request: AggregateRequest) -> dict[str, Any]:
    """Count, sum and latest time per block for the records given; nothing is stored."""
    source = _crs(request.crs)
    records = request.records
    by_code = bool(records) and all(r.code is not None for r in records)
    if not by_code and any(r.lon is None or r.lat is None for r in records):
        raise ValidationFailed(
            "every record needs lon and lat, or every record a region code",
            code="place_required",
            errors=[{"field": "records", "message": "lon and lat, or code, on every record"}],
        )
    lons = lats = None
    if not by_code:
        lons = np.array([r.lon for r in records], dtype=np.float64)
        lats = np.array([r.lat for r in records], dtype=np.float64)
        if source not in (Crs.WGS84, Crs.CGCS2000) and lons.size:
            lons, lats = transform(lons, lats, source=source, target=Crs.WGS84)
    result = aggregate(
        session,
        level=request.level,
        lons=lons,
        lats=lats,
        codes=[r.code for r in records if r.code is not None] if by_code else None,
        values=[r.value for r in records] if any(r.value is not None for r in records) else None,
        times=[r.time for r in records] if any(r.time is not None for r in records) else None,
        h3_resolution=request.h3_resolution,
    )
    return {
        "level": result.level,
        "outside": result.outside,
        "blocks": [
            {
                "key": block.key,
                "name": {"zh": block.name_zh, "en": block.name_en} if block.name_zh else None,
                "count": block.count,
                "sum": block.sum,
                "latest": block.latest.isoformat() if block.latest else None,
            }
            for block in result.blocks
        ],
    }


class WithinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any]
    predicate: Literal["intersects", "within"] = "intersects"
    crs: str = "wgs84"
    limit: int = Field(default=1000, ge=1, le=10_000)


@router.post(
    "/collections/{layer_id}/within", summary="Features of a layer meeting a GeoJSON geometry"
)
def within(session: DbSession, layer_id: str, request: WithinRequest) -> dict[str, Any]:
    """Features that intersect (or lie within) the geometry, as GeoJSON; stores nothing."""
    source = _crs(request.crs)
    service.get_layer(session, layer_id=layer_id)
    area = parse_geometry(request.geometry, source=source)
    found = features_within(session, layer_id=layer_id, area=area, predicate=request.predicate)
    return {
        "type": "FeatureCollection",
        "crs": source.value,
        "features": [service.feature_geojson(f, target=source) for f in found[: request.limit]],
        "numberMatched": len(found),
        "numberReturned": min(len(found), request.limit),
    }


@router.get("/collections/{layer_id}/nearest", summary="The k features nearest to a point")
def nearest(
    session: DbSession,
    layer_id: str,
    lon: Lon,
    lat: Lat,
    k: Annotated[int, Query(ge=1, le=100)] = 5,
    crs: CrsParam = "wgs84",
) -> dict[str, Any]:
    """Nearest first, each with its geodesic distance in metres."""
    source = _crs(crs)
    service.get_layer(session, layer_id=layer_id)
    x, y = _to_wgs84(lon, lat, source)
    found = nearest_features(session, layer_id=layer_id, lon=x, lat=y, k=k)
    features = []
    for near in found:
        feature = service.feature_geojson(near.item, target=source)
        feature["properties"] = {**feature["properties"], "distance_m": round(near.distance_m, 1)}
        features.append(feature)
    return {"type": "FeatureCollection", "crs": source.value, "features": features}


BATCH_SUFFIXES = {".csv", ".xlsx", ".xlsm"}


@staff_router.post(
    "/geocode/batch",
    summary="Geocode every row of an uploaded CSV or Excel file (staff)",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def geocode_batch(
    session: DbSession,
    runtime: RuntimeDep,
    actor: Annotated[Actor, Depends(require("geo.geocode.batch"))],
    file: UploadFile,
    column: Annotated[str, Form(min_length=1, max_length=100)] = "address",
) -> Response:
    """A zip of the results file, the failures file (with candidates) and a summary.

    Nothing is stored: the upload and the outputs live in a temporary folder for the
    length of the request.
    """
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in BATCH_SUFFIXES:
        raise UnsupportedMediaType(
            f"send a .csv or .xlsx file, not {suffix or 'a file without a suffix'}",
            code="unsupported_file_type",
        )
    limit = runtime.settings.max_upload_bytes
    with tempfile.TemporaryDirectory(prefix="cityos-geocode-") as folder:
        source = Path(folder) / f"upload{suffix}"
        size = 0
        with source.open("wb") as out:
            while chunk := await file.read(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the file is larger than {limit} bytes")
                out.write(chunk)
        stem = Path(file.filename or "addresses").stem
        results = Path(folder) / f"{stem}.geocoded{suffix}"
        failures = Path(folder) / f"{stem}.failures{suffix}"
        library = gazetteer(session)
        summary = await run_in_threadpool(
            geocode_file, source, results, failures, column=column, gazetteer=library
        )
        counts = {
            "rows": summary.rows,
            "matched": summary.matched,
            "unsure": summary.unsure,
            "not_found": summary.not_found,
        }
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(results, results.name)
            archive.write(failures, failures.name)
            archive.writestr("summary.json", json.dumps(counts, ensure_ascii=False))
    log.info("batch geocoding by %s: %s", actor.username, counts)
    return Response(
        packed.getvalue(),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(f"{stem}.geocoded.zip", inline=False),
            **{f"X-Geocode-{key.replace('_', '-').title()}": str(v) for key, v in counts.items()},
        },
    )
