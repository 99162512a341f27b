"""Queries of the geo engine for the API and other modules: regions, layers and their
features as GeoJSON, pages of features, and the text of standard addresses.

Plain functions taking a session and keyword arguments, returning rows or plain data; no
HTTP and no commit, so the API is a thin layer that parses, authorises and shapes.
Spatial lookups (locate, nearest, within, reverse) live in ``index``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.geo.crs import Crs, transform_geometry
from cityos.foundation.geo.index import (
    Bbox,
    RegionChain,
    as_geometry,
    layer_features,
    narrow_to_area,
    refine,
)
from cityos.foundation.geo.models import Feature, Layer, Level, Region, StandardAddress
from cityos.kernel.errors import NotFound
from cityos.kernel.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate

MESSAGES = {
    "region_not_found": {"zh-CN": "行政区域不存在", "en": "No such region"},
    "layer_not_found": {"zh-CN": "图层不存在", "en": "No such layer"},
}


class RegionNotFound(NotFound):
    code = "region_not_found"


class LayerNotFound(NotFound):
    code = "layer_not_found"


# --- standard addresses -----------------------------------------------------------------


def address_search_text(road: str, number: str, building: str = "", unit: str = "") -> str:
    """The part of an address that tells it apart, normalised for matching: NFKC (full-width
    to half-width), lower case, no spaces; e.g. ``人民南路3002号国贸大厦a座``."""
    text = unicodedata.normalize("NFKC", f"{road}{number}号{building}{unit}")
    return "".join(text.lower().split())


def address_text(address: StandardAddress, chain: RegionChain, *, city: str = "") -> str:
    """The full text of a standard address: ``city`` + the district, subdistrict and
    community names + road, number 号, building and unit, e.g. 深圳市罗湖区东门街道城东社区
    人民南路3002号国贸大厦A座."""
    regions = [ref.name_zh for ref in chain.levels() if ref.level != "grid"]
    return "".join(
        [city, *regions, address.road, f"{address.number}号", address.building, address.unit]
    )


# --- regions ----------------------------------------------------------------------------


def get_region(session: Session, *, code: str) -> Region:
    """The region with this code, or ``region_not_found``."""
    region = session.get(Region, code)
    if region is None:
        raise RegionNotFound(f"no region with code {code!r}")
    return region


def list_regions(
    session: Session, *, level: Level | None = None, parent: str | None = None
) -> list[Region]:
    """Regions by code, optionally of one level and/or with one parent."""
    stmt = select(Region).order_by(Region.code)
    if level is not None:
        stmt = stmt.where(Region.level == level)
    if parent is not None:
        stmt = stmt.where(Region.parent_code == parent)
    return list(session.scalars(stmt))


def region_feature(region: Region, *, target: Crs = Crs.WGS84) -> dict[str, Any]:
    """A region as a GeoJSON Feature in ``target`` coordinates."""
    return {
        "type": "Feature",
        "id": region.code,
        "geometry": _geometry(region.geometry, target),
        "properties": {
            "code": region.code,
            "level": region.level,
            "parent": region.parent_code,
            "name_zh": region.name_zh,
            "name_en": region.name_en,
            "synthetic": region.synthetic,
            "area_m2": round(region.area_m2, 1),
            "centroid": [region.centroid_lon, region.centroid_lat],
        },
    }


# --- layers and features ----------------------------------------------------------------


@dataclass(frozen=True)
class LayerSummary:
    """A layer with its feature count and extent (``None`` when it has no features)."""

    layer: Layer
    count: int
    extent: Bbox | None


def list_layers(session: Session) -> list[LayerSummary]:
    """Every layer in profile order, with counts and extents (the OGC API collections)."""
    stats = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                Feature.layer_id,
                func.count(),
                func.min(Feature.min_lon),
                func.min(Feature.min_lat),
                func.max(Feature.max_lon),
                func.max(Feature.max_lat),
            ).group_by(Feature.layer_id)
        )
    }
    summaries = []
    for layer in session.scalars(select(Layer).order_by(Layer.sort, Layer.id)):
        count, *extent = stats.get(layer.id, (0, None, None, None, None))
        box = tuple(extent) if count else None
        summaries.append(LayerSummary(layer, int(count), box))  # type: ignore[arg-type]
    return summaries


def get_layer(session: Session, *, layer_id: str) -> Layer:
    """The layer with this id, or ``layer_not_found``."""
    layer = session.get(Layer, layer_id)
    if layer is None:
        raise LayerNotFound(f"no layer {layer_id!r}")
    return layer


def feature_page(
    session: Session,
    *,
    layer_id: str,
    bbox: Bbox | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    predicate: Literal["intersects", "within"] = "intersects",
) -> Page[Feature]:
    """A page of a layer's features in id order, only those meeting ``bbox`` if given.

    Where the database's index only narrows by bounding box, the page is refined exactly and
    topped up from the following rows, so every page holds ``limit`` matches while there are.
    """
    get_layer(session, layer_id=layer_id)
    limit = max(1, min(limit, MAX_LIMIT))
    if bbox is None:
        stmt = select(Feature).where(Feature.layer_id == layer_id)
        return paginate(session, stmt, order_by=[Feature.id], cursor=cursor, limit=limit)
    area = as_geometry(bbox)
    stmt, exact = narrow_to_area(session, layer_features(session, layer_id), area, predicate)
    items: list[Feature] = []
    while True:
        page = paginate(
            session, stmt, order_by=[Feature.id], cursor=cursor, limit=limit - len(items)
        )
        items.extend(page.items if exact else refine(page.items, area, predicate))
        cursor = page.next_cursor
        if cursor is None or len(items) >= limit:
            return Page(items, cursor, limit)


def feature_geojson(feature: Feature, *, target: Crs = Crs.WGS84) -> dict[str, Any]:
    """A feature as a GeoJSON Feature in ``target`` coordinates (id = its UUID)."""
    return {
        "type": "Feature",
        "id": str(feature.id),
        "geometry": _geometry(feature.geometry, target),
        "properties": dict(feature.properties),
    }


def _geometry(geometry: dict[str, Any], target: Crs) -> dict[str, Any]:
    if target in (Crs.WGS84, Crs.CGCS2000):
        return geometry
    return transform_geometry(geometry, source=Crs.WGS84, target=target)
